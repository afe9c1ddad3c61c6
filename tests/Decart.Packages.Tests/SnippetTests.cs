using System.Text;
using System.Text.RegularExpressions;
using Decart.Testing;

namespace Decart.Packages.Tests;

/// <summary>
/// Every <c>```csharp</c> block of README.md, docs/**/*.md and the package readmes compiles against the packed
/// packages (blocks marked <c>```csharp sketch</c> are API outlines, checked by <see cref="PublicApiDocTests"/>
/// instead). A block of statements runs in a method that sees the names the docs take as given (<c>client</c>,
/// <c>camera</c>, <c>rt</c>…, see <see cref="Context"/>); a block that declares types is a file of its own. Compiler
/// errors point at the Markdown file and line (<c>#line</c>).
/// </summary>
[Collection(FeedCollection.Name)]
public sealed partial class SnippetTests(LocalFeed feed)
{
    /// <summary>What a snippet may use without declaring it: the docs' running example.</summary>
    private const string Context = """
        namespace Snippets;

        public abstract class SnippetContext
        {
            protected static DecartClient client = null!;
            protected static IVideoSource camera = null!, source = null!, backCamera = null!;
            protected static RealtimeConnectOptions options = null!;
            protected static RealtimeClient rt = null!;
            protected static ImageInput reference = null!;
            protected static byte[] png = null!;
            protected static ILogger logger = null!;
            protected static IEnumerable<string> keystrokes = [];
            protected static string lastText = "";
            protected static DecartSimulator sim = null!;
            protected static SimulatedSession session = null!;
            protected static TimeProvider fakeTime = TimeProvider.System;
            protected static Microsoft.AspNetCore.Builder.WebApplicationBuilder builder = null!;
            protected static Microsoft.AspNetCore.Builder.WebApplication app = null!;

            protected static void Render(ReadOnlySpan<byte> frame, TimeSpan timestamp)
            {
            }
        }
        """;

    private const string GlobalUsings = """
        global using Decart.Sdk;
        global using Decart.Sdk.AspNetCore;
        global using Decart.Sdk.Http;
        global using Decart.Sdk.Media;
        global using Decart.Sdk.Media.Ffmpeg;
        global using Decart.Sdk.Models;
        global using Decart.Sdk.Realtime;
        global using Decart.Sdk.Testing;
        global using Decart.Simulator.Faults;
        global using Decart.Simulator.Hosting;
        global using Decart.Simulator.Realtime;
        global using Decart.Simulator.Testing;
        global using Microsoft.Extensions.DependencyInjection;
        global using Microsoft.Extensions.Logging;
        """;

    [Fact]
    public async Task Every_csharp_block_of_the_docs_compiles_against_the_packages()
    {
        var dir = Directory.CreateDirectory(Path.Combine(feed.Work.FullName, "snippets"));
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "Snippets.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Library</OutputType>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <IsPackable>false</IsPackable>
                <!-- The analyzer pages show what the rules flag: warnings are expected, errors are not. -->
                <TreatWarningsAsErrors>false</TreatWarningsAsErrors>
                <NoWarn>$(NoWarn);CS1998;CS0162;CS8321;CS0219;CS0168;IDE0005</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Decart.Sdk" Version="{feed.Version}" />
                <PackageReference Include="Decart.Sdk.AspNetCore" Version="{feed.Version}" />
                <PackageReference Include="Decart.Simulator" Version="{feed.Version}" />
                <PackageReference Include="Decart.Simulator.Testing" Version="{feed.Version}" />
                <PackageReference Include="xunit" Version="2.9.3" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "GlobalUsings.cs"), GlobalUsings);
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "SnippetContext.cs"), Context);

        int compiled = 0;
        var documents = new List<string>();
        foreach (var document in Markdown.Documents(RepositoryPaths.Root))
        {
            var blocks = Markdown.Blocks(Path.Combine(RepositoryPaths.Root, document), document).Where(b => b.Info == "csharp").ToArray();
            if (blocks.Length == 0)
            {
                continue;
            }

            documents.Add(document);
            string ns = "Snippets." + Regex.Replace(document, "[^A-Za-z0-9]", "_");
            foreach (var block in blocks)
            {
                await File.WriteAllTextAsync(Path.Combine(dir.FullName, $"{Regex.Replace(document, "[^A-Za-z0-9]", "_")}_{block.Line}.cs"), Wrap(block, ns));
                compiled++;
            }
        }

        Assert.Contains("README.md", documents);
        Assert.True(compiled >= 25, $"only {compiled} blocks found");
        var build = await LocalFeed.RunAsync("dotnet", dir.FullName, TimeSpan.FromMinutes(6), "build", "-nologo", "-tl:off", "-clp:NoSummary");
        var errors = build.Output.Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal)).Distinct().ToArray();
        Assert.True(build.Code == 0 && errors.Length == 0, $"{errors.Length} errors in the docs' C#:\n{string.Join('\n', errors.Take(40))}\n{(errors.Length == 0 ? build.Output : "")}");
    }

    /// <summary>Turns a block into a compilation unit: using directives first, then the types it declares, or its statements in a method.</summary>
    private static string Wrap(CodeBlock block, string ns)
    {
        var lines = block.Code.Split('\n');
        int first = 0;
        var usings = new List<string>();
        while (first < lines.Length && (UsingDirective().IsMatch(lines[first]) || string.IsNullOrWhiteSpace(lines[first])))
        {
            if (!string.IsNullOrWhiteSpace(lines[first]))
            {
                usings.Add(lines[first]);
            }

            first++;
        }

        var body = string.Join('\n', lines[first..]);
        var text = new StringBuilder();
        text.AppendLine(string.Join('\n', usings));
        text.AppendLine($"namespace {ns}");
        text.AppendLine("{");
        string path = Path.Combine(RepositoryPaths.Root, block.File).Replace("\\", "\\\\", StringComparison.Ordinal);
        if (TypeDeclaration().IsMatch(body))
        {
            text.AppendLine($"#line {block.Line + first} \"{path}\"");
            text.AppendLine(body);
            text.AppendLine("#line default");
        }
        else
        {
            text.AppendLine($"file sealed class Snippet : global::Snippets.SnippetContext");
            text.AppendLine("{");
            text.AppendLine("public static async Task RunAsync()");
            text.AppendLine("{");
            text.AppendLine($"#line {block.Line + first} \"{path}\"");
            text.AppendLine(body);
            text.AppendLine("#line default");
            text.AppendLine("}");
            text.AppendLine("}");
        }

        text.AppendLine("}");
        return text.ToString();
    }

    [GeneratedRegex(@"^using\s+(static\s+)?[A-Za-z_][\w.]*\s*;\s*$")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"^(public |internal )?((sealed|static|abstract|partial|readonly) )*(class|record|struct|interface|enum) \w+", RegexOptions.Multiline)]
    private static partial Regex TypeDeclaration();
}
