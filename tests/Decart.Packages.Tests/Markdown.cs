using System.Text.RegularExpressions;

namespace Decart.Packages.Tests;

/// <summary>A fenced code block of a Markdown file: its info string, its text and the line its text starts on.</summary>
public sealed record CodeBlock(string File, string Info, string Code, int Line);

/// <summary>Reads the fenced code blocks of the repository's Markdown.</summary>
public static partial class Markdown
{
    /// <summary>The fenced blocks of a file, in order.</summary>
    /// <param name="path">The Markdown file.</param>
    /// <param name="relative">Its path as shown in messages.</param>
    /// <returns>The blocks.</returns>
    public static List<CodeBlock> Blocks(string path, string relative)
    {
        var blocks = new List<CodeBlock>();
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            int start = i + 1;
            int end = start;
            while (end < lines.Length && lines[end].TrimEnd() != "```")
            {
                end++;
            }

            blocks.Add(new CodeBlock(relative, open.Groups[1].Value.Trim(), string.Join('\n', lines[start..Math.Min(end, lines.Length)]), start + 1));
            i = end;
        }

        return blocks;
    }

    /// <summary>README.md, every docs/**/*.md and every package readme (src/*/PACKAGE.md), relative to the root.</summary>
    /// <param name="root">The repository root.</param>
    /// <returns>Their relative paths.</returns>
    public static IEnumerable<string> Documents(string root) =>
        new[] { "README.md" }
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "src"), "PACKAGE.md", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)))
            .Order(StringComparer.Ordinal);

    [GeneratedRegex(@"^```(\S.*)$")]
    private static partial Regex Fence();
}
