using System.Text.RegularExpressions;

namespace Decart.Analyzers.Tests;

/// <summary>
/// What a user gets: the SDK packed into a local feed, a fresh console project referencing the package (not the
/// project), a build that reports DECART001–003 at the right lines, and a clean build once the code is fixed.
/// </summary>
public class PackageEndToEndTests
{
    private const string Broken = """
        using Decart.Sdk;
        using Decart.Sdk.Media;
        using Decart.Sdk.Models;
        using Decart.Sdk.Realtime;

        using var client = new DecartClient(new DecartClientOptions { ApiKey = "sk_live_1234567890" });
        IVideoSource source = await IvfFileSource.OpenAsync("clip.ivf");
        var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code) });
        await rt.SetPromptAsync("a neon city at night in the rain");
        await rt.SetImageAsync(ImageInput.FromBytes(File.ReadAllBytes("ref.png")));
        """;

    private const string Fixed = """
        using Decart.Sdk;
        using Decart.Sdk.Media;
        using Decart.Sdk.Models;
        using Decart.Sdk.Realtime;

        using var client = new DecartClient(new DecartClientOptions { ApiKey = Environment.GetEnvironmentVariable("DECART_API_KEY") });
        await using var source = await IvfFileSource.OpenAsync("clip.ivf");
        await using var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code), OnConnectionChanged = s => Console.WriteLine(s) });
        await rt.SetAsync(new RealtimeState { Prompt = "a neon city at night in the rain", Image = ImageInput.FromBytes(File.ReadAllBytes("ref.png")) });
        """;

    [Fact]
    public async Task The_packed_SDK_carries_the_analyzers_into_a_fresh_project()
    {
        string root = RepoRoot();
        var work = Directory.CreateTempSubdirectory("decart-e2e");
        try
        {
            string feed = Path.Combine(work.FullName, "feed");
            string version = "0.1.0-e2e" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
            foreach (var project in new[] { "src/Decart.Rtc", "src/Decart.Sdk" })
            {
                var (code, output) = await RunAsync(root, "pack", project, "-c", "Release", "-o", feed, $"-p:PackageVersion={version}", "-nologo");
                Assert.True(code == 0, output);
            }

            var nupkg = Path.Combine(feed, $"Decart.Sdk.{version}.nupkg");
            using (var zip = System.IO.Compression.ZipFile.OpenRead(nupkg))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToList();
                Assert.Contains("analyzers/dotnet/cs/Decart.Analyzers.dll", entries);
                Assert.Contains("analyzers/dotnet/cs/Decart.Analyzers.CodeFixes.dll", entries);
                Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal) && e.Contains("Analyzers", StringComparison.Ordinal));
            }

            string app = Path.Combine(work.FullName, "app");
            Directory.CreateDirectory(app);
            await File.WriteAllTextAsync(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Decart.Sdk" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="e2e-local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), Broken);

            var (brokenCode, brokenOutput) = await RunAsync(app, "build", "-nologo", "-clp:NoSummary");
            Assert.True(brokenCode == 0, brokenOutput); // warnings, not errors, on a console app
            var found = Regex.Matches(brokenOutput, @"Program\.cs\((\d+),\d+\): warning (DECART\d{3})")
                .Select(m => (Line: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Id: m.Groups[2].Value))
                .Distinct()
                .OrderBy(x => x.Line)
                .ToList();
            // 002 the key, 014 the source never stopped, 001 the client never disposed, 011 no connection handler, 003 the split update.
            Assert.Equal([(6, "DECART002"), (7, "DECART014"), (8, "DECART001"), (8, "DECART011"), (10, "DECART003")], found);

            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), Fixed);
            var (fixedCode, fixedOutput) = await RunAsync(app, "build", "-nologo", "-clp:NoSummary");
            Assert.True(fixedCode == 0, fixedOutput);
            Assert.DoesNotContain("DECART", fixedOutput, StringComparison.Ordinal);

            // A Blazor-WebAssembly-style project (DecartClientSide: the app runs on the user's device): a key in source
            // and a token minted there are errors that fail the build, through the property the package's props
            // make visible to the analyzers.
            string device = Path.Combine(work.FullName, "device");
            Directory.CreateDirectory(device);
            await File.WriteAllTextAsync(Path.Combine(device, "Device.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <DecartClientSide>true</DecartClientSide>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Decart.Sdk" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.Copy(Path.Combine(app, "nuget.config"), Path.Combine(device, "nuget.config"));
            await File.WriteAllTextAsync(Path.Combine(device, "Component.cs"), """
                using Decart.Sdk;

                public static class Component
                {
                    public static async Task<string> TokenAsync()
                    {
                        using var client = new DecartClient(new DecartClientOptions { ApiKey = "sk_live_device_key" });
                        return (await client.Tokens.CreateAsync()).ApiKey;
                    }
                }
                """);
            var (deviceCode, deviceOutput) = await RunAsync(device, "build", "-nologo", "-clp:NoSummary");
            Assert.NotEqual(0, deviceCode);
            Assert.Matches(@"Component\.cs\(7,\d+\): error DECART002", deviceOutput);
            Assert.Matches(@"Component\.cs\(8,\d+\): error DECART013", deviceOutput);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string directory, params string[] args)
    {
        var (code, output, error) = await Decart.Testing.ChildProcess.RunAsync("dotnet", args, TimeSpan.FromMinutes(5), directory);
        return (code, output + error);
    }

    private static string RepoRoot()
    {
        return Decart.Testing.RepositoryPaths.Root;
    }
}
