using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Decart.Testing;

namespace Decart.Packages.Tests;

/// <summary>
/// The packages as a user installs them. Bad input tried: the tool's bad arguments (exit 2 with a message), a consumer
/// file with a key in source (the packed analyzers must flag it).
/// </summary>
[Collection(FeedCollection.Name)]
public sealed partial class PackageTests(LocalFeed feed)
{
    private static XElement Nuspec(ZipArchive zip)
    {
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using var stream = entry.Open();
        return XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string? Field(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    [Fact]
    public void Every_package_carries_its_readme_licence_icon_repository_docs_and_symbols()
    {
        foreach (var (project, id) in LocalFeed.Packages)
        {
            using var zip = ZipFile.OpenRead(Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg"));
            var files = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            var metadata = Nuspec(zip);
            Assert.Equal(id, Field(metadata, "id"));
            Assert.Equal("MIT", Field(metadata, "license"));
            Assert.Equal("PACKAGE.md", Field(metadata, "readme"));
            Assert.Equal("icon.png", Field(metadata, "icon"));
            Assert.Contains("PACKAGE.md", files);
            Assert.Contains("icon.png", files);
            Assert.Contains("LICENSE", files);
            Assert.StartsWith("https://", Field(metadata, "projectUrl"), StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(Field(metadata, "description")));
            var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.StartsWith("https://", repository.Attribute("url")?.Value, StringComparison.Ordinal);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");

            if (id == "decart-sim")
            {
                Assert.Contains(metadata.Descendants().Where(e => e.Name.LocalName == "packageType"), t => t.Attribute("name")?.Value == "DotnetTool");
                Assert.Contains("tools/net10.0/any/decart-sim.dll", files);
                Assert.Contains("tools/net10.0/any/DotnetToolSettings.xml", files);
                continue;
            }

            Assert.Contains($"lib/net10.0/{project}.dll", files);
            Assert.Contains($"lib/net10.0/{project}.xml", files);                       // XML docs for IntelliSense
            Assert.False(IsReadyToRun(zip, $"lib/net10.0/{project}.dll"), $"{id}: lib/ must be IL, for every platform");
            if (project is "Decart.Rtc" or "Decart.Sdk")
            {
                // The connect path's assemblies also ship precompiled (a cold first connect skips compiling them), for
                // each platform in its own machine code: PE's Machine, which ReadyToRun XORs with the target OS's tag
                // (a runtime rejects an image whose Machine is not its own, and runs the IL).
                foreach (var (rid, machine) in ReadyToRunMachines)
                {
                    var image = $"runtimes/{rid}/lib/net10.0/{project}.dll";
                    Assert.True(IsReadyToRun(zip, image), $"{id}: no ReadyToRun image for {rid}");
                    Assert.Equal(machine, Machine(zip, image));
                    Assert.Equal(Mvid(zip, $"lib/net10.0/{project}.dll"), Mvid(zip, image)); // the very assembly lib/ ships: same code, same symbols
                }

                // Android's RIDs fall back to linux-<arch> in the RID graph: the IL under runtimes/android is nearer.
                var android = $"runtimes/android/lib/net10.0/{project}.dll";
                Assert.False(IsReadyToRun(zip, android), $"{id}: runtimes/android must be IL");
                Assert.Equal(Mvid(zip, $"lib/net10.0/{project}.dll"), Mvid(zip, android));
                Assert.Equal(ReadyToRunMachines.Length + 1, files.Count(f => f.StartsWith("runtimes/", StringComparison.Ordinal) && f.EndsWith($"/{project}.dll", StringComparison.Ordinal)));
            }
            using var symbols = ZipFile.OpenRead(Path.Combine(feed.Feed, $"{id}.{feed.Version}.snupkg"));
            var pdb = symbols.Entries.Single(e => e.FullName == $"lib/net10.0/{project}.pdb");
            using var reader = new StreamReader(pdb.Open(), Encoding.Latin1);
            Assert.Contains("raw.githubusercontent.com", reader.ReadToEnd(), StringComparison.Ordinal);   // SourceLink
        }

        using var sdk = ZipFile.OpenRead(Path.Combine(feed.Feed, $"Decart.Sdk.{feed.Version}.nupkg"));
        var sdkFiles = sdk.Entries.Select(e => e.FullName).ToArray();
        Assert.Contains("analyzers/dotnet/cs/Decart.Analyzers.dll", sdkFiles);
        Assert.Contains("analyzers/dotnet/cs/Decart.Analyzers.CodeFixes.dll", sdkFiles);
        Assert.Contains("build/Decart.Sdk.props", sdkFiles);
        foreach (var web in new[] { "Decart.Simulator", "Decart.Sdk.AspNetCore" })
        {
            using var zip = ZipFile.OpenRead(Path.Combine(feed.Feed, $"{web}.{feed.Version}.nupkg"));
            Assert.Contains(Nuspec(zip).Descendants().Where(e => e.Name.LocalName == "frameworkReference"), f => f.Attribute("name")?.Value == "Microsoft.AspNetCore.App");
        }
    }

    [Fact]
    public async Task The_tool_installs_into_a_tool_path_prints_the_urls_to_paste_serves_and_stops()
    {
        string tools = Path.Combine(feed.Work.FullName, "tools");
        var (code, output) = await LocalFeed.RunAsync("dotnet", feed.Work.FullName, TimeSpan.FromMinutes(3),
            "tool", "install", "decart-sim", "--tool-path", tools, "--add-source", feed.Feed, "--version", feed.Version);
        Assert.True(code == 0, output);
        string program = Path.Combine(tools, "decart-sim");

        var help = await LocalFeed.RunAsync(program, feed.Work.FullName, TimeSpan.FromMinutes(1), "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("Usage: decart-sim", help.Output, StringComparison.Ordinal);
        var bad = await LocalFeed.RunAsync(program, feed.Work.FullName, TimeSpan.FromMinutes(1), "--port", "banana");
        Assert.Equal(2, bad.Code);
        Assert.Contains("error: --port", bad.Output, StringComparison.Ordinal);

        var info = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", "0", "--latency", "10" })
        {
            info.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var lines = new List<string>();
            for (int i = 0; i < 4; i++)
            {
                lines.Add(await process.StandardOutput.ReadLineAsync(timeout.Token) ?? "");
            }

            var paste = lines.Select(l => PasteLine().Match(l)).Single(m => m.Success);
            string baseUrl = paste.Groups[1].Value, realtime = paste.Groups[2].Value;
            Assert.Equal(new Uri(baseUrl).Port, new Uri(realtime).Port);
            Assert.Equal("ws", new Uri(realtime).Scheme);
            Assert.Contains("API key: sim_dev_key", lines);

            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/v1/client/tokens");
            request.Headers.Add("X-API-KEY", "sim_dev_key");
            using var response = await http.SendAsync(request, timeout.Token);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);

            System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task A_fresh_project_with_only_the_packages_runs_the_READMEs_integration_test_and_gets_the_analyzers()
    {
        // The README's two blocks under "Test your code against the simulator", as they are.
        var readme = Markdown.Blocks(Path.Combine(RepositoryPaths.Root, "README.md"), "README.md");
        var section = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));
        int from = section.IndexOf("## Test your code against the simulator", StringComparison.Ordinal);
        Assert.True(from > 0, "README has no 'Test your code against the simulator' section");
        int fromLine = section[..from].Count(c => c == '\n') + 1;
        var blocks = readme.Where(b => b.Info == "csharp" && b.Line > fromLine).Take(2).ToArray();
        Assert.Equal(2, blocks.Length);
        Assert.Contains("class StyleSwitcher", blocks[0].Code, StringComparison.Ordinal);
        Assert.Contains("IClassFixture<DecartSimulatorFixture>", blocks[1].Code, StringComparison.Ordinal);
        Assert.True(blocks[1].Code.Split('\n').Length <= 15, "the README's test must stay within 15 lines");

        var dir = Directory.CreateDirectory(Path.Combine(feed.Work.FullName, "consumer"));
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "Consumer.Tests.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <IsPackable>false</IsPackable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Decart.Sdk" Version="{feed.Version}" />
                <PackageReference Include="Decart.Simulator.Testing" Version="{feed.Version}" />
                <PackageReference Include="Microsoft.NET.Test.Sdk" Version="18.0.1" />
                <PackageReference Include="xunit" Version="2.9.3" />
                <PackageReference Include="xunit.runner.visualstudio" Version="3.1.5" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "StyleSwitcher.cs"), blocks[0].Code);
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "StyleSwitcherTests.cs"), blocks[1].Code);
        // Not from the README: a key in source, which the analyzers packed in Decart.Sdk must flag.
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "KeyInSource.cs"), """
            using Decart.Sdk;

            public static class KeyInSource
            {
                public static DecartClient Make() => new(new DecartClientOptions { ApiKey = "sk_live_0123456789abcdef" });
            }
            """);

        // Not from the README either: where the SDK's assemblies load from — on the four platforms the packages carry
        // ReadyToRun images for, the image of the machine (runtimes/<rid>), chosen at run time from the app's deps.json
        // although it was built for no RID.
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "WhereTests.cs"), """
            using System.Runtime.InteropServices;
            using Xunit;

            public class WhereTests
            {
                private static readonly string[] Precompiled = ["linux-x64", "linux-arm64", "osx-arm64", "win-x64"];

                [Fact]
                public void The_sdk_loads_the_precompiled_images_of_its_platform()
                {
                    string rid = RuntimeInformation.RuntimeIdentifier;
                    foreach (var assembly in new[] { typeof(Decart.Sdk.DecartClient).Assembly, typeof(Decart.Rtc.Dtls.DtlsTransport).Assembly })
                    {
                        string location = assembly.Location.Replace('\\', '/');
                        if (Precompiled.Contains(rid))
                        {
                            Assert.Contains($"/runtimes/{rid}/lib/net10.0/", location);
                        }
                        else
                        {
                            Assert.DoesNotContain("/runtimes/", location);
                        }
                    }
                }
            }
            """);

        var build = await LocalFeed.RunAsync("dotnet", dir.FullName, TimeSpan.FromMinutes(6), "build", "-c", "Release", "-nologo", "-tl:off", "-clp:NoSummary");
        Assert.True(build.Code == 0, build.Output);
        Assert.Contains("KeyInSource.cs", build.Output, StringComparison.Ordinal);
        Assert.Matches(@"KeyInSource\.cs\(\d+,\d+\): warning DECART002", build.Output);
        Assert.DoesNotMatch(@"StyleSwitcher(Tests)?\.cs\(\d+,\d+\): warning DECART", build.Output);   // the README's code follows the practices

        var test = await LocalFeed.RunAsync("dotnet", dir.FullName, TimeSpan.FromMinutes(4), "test", "-c", "Release", "--no-build", "-nologo");
        Assert.True(test.Code == 0, test.Output);
        Assert.Matches(@"Passed!\s+- Failed:\s+0, Passed:\s+2,", test.Output);

        // And that their code runs precompiled: in a fresh process (nothing of the SDK compiled or run before), a first
        // SDP parse and a first DecartClient compile none of the SDK's own methods on the calling thread, told by the
        // runtime's JIT events in-process (with the IL they compile dozens).
        var jitDir = Directory.CreateDirectory(Path.Combine(feed.Work.FullName, "jitcheck"));
        await File.WriteAllTextAsync(Path.Combine(jitDir.FullName, "JitCheck.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <IsPackable>false</IsPackable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Decart.Sdk" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(jitDir.FullName, "Program.cs"), JitCheckProgram);
        var jitRun = await LocalFeed.RunAsync("dotnet", jitDir.FullName, TimeSpan.FromMinutes(4), "run", "-c", "Release", "-nologo", "-tl:off");
        Assert.True(jitRun.Code == 0, jitRun.Output);
        Assert.Contains("precompiled: no Decart method compiled on the calling thread", jitRun.Output, StringComparison.Ordinal);
    }

    /// <summary>The fresh-process check of <see cref="A_fresh_project_with_only_the_packages_runs_the_READMEs_integration_test_and_gets_the_analyzers"/>: exit 0 and one line when the SDK's first calls compile none of its methods.</summary>
    private const string JitCheckProgram = """
        using System.Collections.Concurrent;
        using System.Diagnostics.Tracing;
        using System.Runtime.CompilerServices;
        using System.Runtime.InteropServices;

        if (!OperatingSystem.IsLinux())
        {
            Console.WriteLine("precompiled: not checked (the compiling thread is told apart with gettid, Linux only)");
            return 0;
        }

        using var jit = new JitEvents();
        jit.WaitFor(nameof(Sentinels.Before), Sentinels.Before);
        var sdp = Decart.Rtc.Sdp.SessionDescription.Parse("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n", Decart.Rtc.Sdp.SdpType.Offer);
        if (!sdp.ToString().Contains("VP8/90000"))
        {
            Console.WriteLine("the SDP did not round-trip");
            return 2;
        }

        using (var client = new Decart.Sdk.DecartClient(new Decart.Sdk.DecartClientOptions { ApiKey = "sim_dev_key", BaseUrl = new Uri("http://127.0.0.1:9") }))
        {
            _ = client.Realtime;
        }

        jit.WaitFor(nameof(Sentinels.After), Sentinels.After);
        long thread = Sentinels.gettid();
        if (!jit.Methods.Any(m => m.Name == nameof(Sentinels.After) && m.Thread == thread))
        {
            Console.WriteLine("the JIT events do not name this thread: the check would see nothing");
            return 3;
        }

        var compiled = jit.Methods.Where(m => m.Thread == thread && m.Namespace.StartsWith("Decart.", StringComparison.Ordinal)).Select(m => m.Namespace + "::" + m.Name).ToList();
        Console.WriteLine(compiled.Count == 0 ? "precompiled: no Decart method compiled on the calling thread" : "compiled on first call: " + string.Join(", ", compiled));
        return compiled.Count == 0 ? 0 : 1;

        static class Sentinels
        {
            [MethodImpl(MethodImplOptions.NoInlining)]
            public static int Before() => 1;

            [MethodImpl(MethodImplOptions.NoInlining)]
            public static int After() => 2;

            [DllImport("libc")]
            public static extern int gettid();
        }

        sealed class JitEvents : EventListener
        {
            public readonly ConcurrentQueue<(long Thread, string Namespace, string Name)> Methods = new();

            /// <summary>Calls the sentinel (its first call compiles it) and waits for its event: every earlier event has then arrived.</summary>
            public void WaitFor(string name, Func<int> sentinel)
            {
                sentinel();
                var until = DateTime.UtcNow.AddSeconds(20);
                while (!Methods.Any(m => m.Name == name))
                {
                    if (DateTime.UtcNow > until)
                    {
                        throw new TimeoutException($"no JIT event for {name}: the runtime's events did not arrive");
                    }

                    Thread.Sleep(10);
                }
            }

            protected override void OnEventSourceCreated(EventSource source)
            {
                if (source.Name == "Microsoft-Windows-DotNETRuntime")
                {
                    EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x10); // JIT
                }
            }

            protected override void OnEventWritten(EventWrittenEventArgs e)
            {
                if (e.EventName == "MethodJittingStarted_V1" && e.Payload is { } payload && e.PayloadNames is { } names)
                {
                    Methods.Enqueue((e.OSThreadId, (string)payload[names.IndexOf("MethodNamespace")]!, (string)payload[names.IndexOf("MethodName")]!));
                }
            }
        }
        """;

    private static Guid Mvid(ZipArchive zip, string path)
    {
        using var stream = Open(zip, path);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        var metadata = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        return metadata.GetGuid(metadata.GetModuleDefinition().Mvid);
    }

    /// <summary>The platforms the packages carry ReadyToRun images for, and the PE Machine each image must have.</summary>
    private static readonly (string Rid, ushort Machine)[] ReadyToRunMachines =
    [
        ("linux-x64", 0x8664 ^ 0x7B79),   // AMD64, Linux tag
        ("linux-arm64", 0xAA64 ^ 0x7B79), // ARM64, Linux tag
        ("osx-arm64", 0xAA64 ^ 0x4644),   // ARM64, Apple tag
        ("win-x64", 0x8664),              // AMD64, Windows: no tag
    ];

    private static ushort Machine(ZipArchive zip, string path)
    {
        using var stream = Open(zip, path);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        return (ushort)pe.PEHeaders.CoffHeader.Machine;
    }

    private static MemoryStream Open(ZipArchive zip, string path)
    {
        var entry = zip.GetEntry(path);
        Assert.NotNull(entry);
        var stream = new MemoryStream();
        using (var source = entry.Open())
        {
            source.CopyTo(stream);
        }

        stream.Position = 0;
        return stream;
    }

    private static bool IsReadyToRun(ZipArchive zip, string path)
    {
        using var stream = Open(zip, path);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        return pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0;
    }

    [GeneratedRegex("^DecartClientOptions: BaseUrl = new Uri\\(\"(http://127\\.0\\.0\\.1:\\d+)\"\\), RealtimeBaseUrl = new Uri\\(\"(ws://127\\.0\\.0\\.1:\\d+)\"\\)$")]
    private static partial Regex PasteLine();
}
