using System.Text.RegularExpressions;
using Decart.Testing;

namespace Decart.Packages.Tests;

/// <summary>
/// docs/design/public-api.md cannot drift from the tracked public API (the PublicAPI.*.txt files the build enforces):
/// every type and member its outlines (<c>```csharp sketch</c>) declare exists as declared, and every public type of
/// the SDK's packages (Decart.Sdk, Decart.Sdk.AspNetCore, Decart.Simulator.Testing) is named in it.
/// </summary>
public sealed partial class PublicApiDocTests
{
    private static readonly string[] DocumentedPackages = ["Decart.Sdk", "Decart.Sdk.AspNetCore", "Decart.Simulator.Testing"];

    private static string[] TrackedApi(params string[] projects) =>
        [.. projects.SelectMany(p => new[] { "Shipped", "Unshipped" }.SelectMany(kind => File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "src", p, $"PublicAPI.{kind}.txt"))))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))];

    private static string[] AllTrackedApi() =>
        TrackedApi([.. Directory.GetDirectories(Path.Combine(RepositoryPaths.Root, "src")).Select(Path.GetFileName).Where(p => File.Exists(Path.Combine(RepositoryPaths.Root, "src", p!, "PublicAPI.Shipped.txt")))!]);

    private static List<CodeBlock> Sketches() =>
        [.. Markdown.Blocks(Path.Combine(RepositoryPaths.Root, "docs", "design", "public-api.md"), "docs/design/public-api.md").Where(b => b.Info == "csharp sketch")];

    /// <summary>Type lines of the tracked API: a full name alone on its line (members carry a signature).</summary>
    private static HashSet<string> Types(IEnumerable<string> api) =>
        [.. api.Select(l => Regex.Replace(l, "^(static |abstract |sealed |virtual |override |const )+", "")).Where(l => TypeName().IsMatch(l))];

    [Fact]
    public void Every_type_and_member_the_outlines_declare_is_in_the_tracked_api()
    {
        var api = AllTrackedApi();
        var types = Types(api);
        var problems = new List<string>();
        var sketches = Sketches();
        Assert.NotEmpty(sketches);
        foreach (var block in sketches)
        {
            string? ns = null;
            string? current = null;
            var lines = block.Code.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                string line = Regex.Replace(lines[i], @"//.*$", "");
                if (Namespace().Match(line) is { Success: true } n)
                {
                    ns = n.Groups[1].Value;
                    continue;
                }

                if (TypeDeclaration().Match(line) is { Success: true } t)
                {
                    current = $"{ns}.{t.Groups[1].Value}";
                    if (!types.Contains(current))
                    {
                        problems.Add($"public-api.md line {block.Line + i}: type {current} is not in the tracked API");
                    }

                    continue;
                }

                // A member on a line of its own inside the current type: "public Task SetAsync(…)", "public Uri BaseUrl { get; set; }".
                if (current is not null && MemberDeclaration().Match(line) is { Success: true } m)
                {
                    string member = m.Groups[1].Value;
                    string simpleType = current[(current.LastIndexOf('.') + 1)..];
                    string prefix = member == simpleType ? $"{current}.{member}(" : $"{current}.{member}";
                    if (!api.Any(l => Regex.Replace(l, "^(static |abstract |virtual |override |const |readonly )+", "").StartsWith(prefix, StringComparison.Ordinal)
                        && Regex.IsMatch(Regex.Replace(l, "^(static |abstract |virtual |override |const |readonly )+", "")[prefix.Length..], @"^(\(|\.get|\.set|\.init|\.add|\.remove| |$|\.)")))
                    {
                        problems.Add($"public-api.md line {block.Line + i}: {current}.{member} is not in the tracked API");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Every_public_type_of_the_SDKs_packages_is_named_in_public_api_md()
    {
        string doc = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "design", "public-api.md"));
        var words = Word().Matches(doc).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        var missing = Types(TrackedApi(DocumentedPackages))
            .Select(t => t[(t.LastIndexOf('.') + 1)..])
            .Where(name => !words.Contains(name))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.True(missing.Length == 0, $"public types not in docs/design/public-api.md: {string.Join(", ", missing)}");
    }

    [GeneratedRegex(@"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")]
    private static partial Regex TypeName();

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*;")]
    private static partial Regex Namespace();

    [GeneratedRegex(@"^public\s+(?:(?:sealed|static|abstract|readonly|partial)\s+)*(?:class|record struct|record|struct|interface|enum)\s+(\w+)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"^\s{4}public\s+(?:(?:static|virtual|abstract|override|required|readonly|const|event)\s+)*[\w<>\[\]?,. ]+?\s(\w+)\s*(?:\(|\{|;|=)")]
    private static partial Regex MemberDeclaration();

    [GeneratedRegex(@"\b[A-Za-z_]\w*\b")]
    private static partial Regex Word();
}
