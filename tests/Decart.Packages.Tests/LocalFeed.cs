using System.Globalization;
using Decart.Testing;

namespace Decart.Packages.Tests;

/// <summary>
/// Packs every shipped project (from the Release build) into a temporary feed with a version of its own, so nothing
/// cached from an earlier run is restored instead; removes that version from the NuGet cache afterwards.
/// </summary>
public sealed class LocalFeed : IAsyncLifetime
{
    /// <summary>The packed projects and their package ids.</summary>
    public static readonly (string Project, string Id)[] Packages =
    [
        ("Decart.Rtc", "Decart.Rtc"),
        ("Decart.Sdk", "Decart.Sdk"),
        ("Decart.Sdk.AspNetCore", "Decart.Sdk.AspNetCore"),
        ("Decart.Simulator", "Decart.Simulator"),
        ("Decart.Simulator.Testing", "Decart.Simulator.Testing"),
        ("Decart.Simulator.Tool", "decart-sim"),
    ];

    /// <summary>The working folder: the feed, the tool path and generated projects go under it.</summary>
    public DirectoryInfo Work { get; } = Directory.CreateTempSubdirectory("decart-packages");

    /// <summary>The feed folder.</summary>
    public string Feed => Path.Combine(Work.FullName, "feed");

    /// <summary>This run's package version.</summary>
    public string Version { get; } = "0.1.0-ci." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);

    /// <summary>A nuget.config with the feed before the machine's own sources (for xunit and the rest).</summary>
    public string NuGetConfig => Path.Combine(Work.FullName, "nuget.config");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        foreach (var (project, _) in Packages)
        {
            var path = Path.Combine(RepositoryPaths.Root, "src", project, project + ".csproj");
            var (code, output) = await RunAsync("dotnet", RepositoryPaths.Root, TimeSpan.FromMinutes(3),
                "pack", path, "-c", "Release", "--no-build", "-nologo", "-o", Feed, $"-p:Version={Version}");
            if (code != 0)
            {
                throw new InvalidOperationException($"dotnet pack {project} failed (build the solution in Release first):\n{output}");
            }
        }

        await File.WriteAllTextAsync(NuGetConfig, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="decart-local" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var (_, id) in Packages)
        {
            var dir = new DirectoryInfo(Path.Combine(cache, id.ToLowerInvariant(), Version));
            if (dir.Exists)
            {
                dir.Delete(recursive: true);
            }
        }

        Work.Delete(recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Runs a program to its end (bounded) and returns its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string program, string directory, TimeSpan limit, params string[] args)
    {
        var (code, output, error) = await ChildProcess.RunAsync(program, args, limit, directory);
        return (code, output + error);
    }
}

/// <summary>The tests that share one feed.</summary>
[CollectionDefinition(Name)]
public sealed class FeedCollection : ICollectionFixture<LocalFeed>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "packages";
}
