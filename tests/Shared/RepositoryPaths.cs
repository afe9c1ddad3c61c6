namespace Decart.Testing;

/// <summary>Where the repository is, for tests and benchmarks that read its clips or run its samples (linked into each project).</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Decart.Toolkit.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository (Decart.Toolkit.sln not found above " + AppContext.BaseDirectory + ")");
    });

    /// <summary>The repository root (the folder of Decart.Toolkit.sln).</summary>
    public static string Root => RootPath.Value;

    /// <summary>A file of assets/clips.</summary>
    public static string Clip(string name) => Path.Combine(Root, "assets", "clips", name);
}
