using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace Decart.Analyzers.Tests;

/// <summary>
/// Analyzer and code-fix tests compiled offline: the references are the running .NET's own assemblies and the
/// built Decart.Sdk (the testing library would otherwise download reference packs from NuGet).
/// </summary>
internal static class Verify
{
    private static readonly ImmutableArray<MetadataReference> References = LoadReferences();

    /// <summary>The usings every test source gets.</summary>
    public const string Usings = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Decart.Sdk;
        using Decart.Sdk.Media;
        using Decart.Sdk.Models;
        using Decart.Sdk.Realtime;

        """;

    public static DiagnosticResult Diagnostic(string id) => new(id, DiagnosticSeverity.Warning);

    public static async Task AnalyzerAsync<TAnalyzer>(string source, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> { TestCode = Usings + source };
        Configure(test.TestState, test);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
        await ThroughDecartRulesAsync<TAnalyzer>(Usings + source, null, expected);
    }

    /// <summary>
    /// The same check through <see cref="DecartRules"/>, the analyzer the package ships (all rules, one shared
    /// registration), with the other rules' diagnostics disabled: the shipped analyzer must find exactly what the rule
    /// finds on its own.
    /// </summary>
    private static async Task ThroughDecartRulesAsync<TAnalyzer>(string code, string? globalConfig, DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var mine = new TAnalyzer().SupportedDiagnostics.Select(d => d.Id).ToHashSet();
        var test = new CSharpAnalyzerTest<DecartRules, DefaultVerifier> { TestCode = code };
        Configure(test.TestState, test);
        if (globalConfig is not null)
        {
            test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", globalConfig));
        }

        test.DisabledDiagnostics.AddRange(new DecartRules().SupportedDiagnostics.Select(d => d.Id).Where(id => !mine.Contains(id)));
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    /// <summary>Runs an analyzer on code that does not reference the SDK (it must stay silent), with <paramref name="extra"/> references.</summary>
    public static Task WithoutSdkAsync<TAnalyzer>(string source, params MetadataReference[] extra)
        where TAnalyzer : DiagnosticAnalyzer, new() => WithReferencesAsync<TAnalyzer>(source, extra);

    /// <summary>
    /// Runs an analyzer with the framework and only the given references in place of the built SDK's file (the SDK
    /// under another file name, an in-memory image, a fake), expecting <paramref name="expected"/>.
    /// </summary>
    public static async Task WithReferencesAsync<TAnalyzer>(string source, MetadataReference[] references, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> { TestCode = source, ReferenceAssemblies = new ReferenceAssemblies("net10.0") };
        test.TestState.AdditionalReferences.AddRange(References.Where(r => !(r.Display ?? string.Empty).Contains("Decart", StringComparison.Ordinal)));
        test.TestState.AdditionalReferences.AddRange(references);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }

    public static async Task AnalyzerWithConfigAsync<TAnalyzer>(string source, string globalConfig, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> { TestCode = Usings + source };
        Configure(test.TestState, test);
        test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", globalConfig));
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
        await ThroughDecartRulesAsync<TAnalyzer>(Usings + source, globalConfig, expected);
    }

    public static async Task FixAsync<TAnalyzer, TFix>(string source, string fixedSource, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
        where TFix : CodeFixProvider, new()
    {
        var test = new CSharpCodeFixTest<TAnalyzer, TFix, DefaultVerifier> { TestCode = Usings + source, FixedCode = Usings + fixedSource };
        Configure(test.TestState, test);
        Configure(test.FixedState, test);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
        await ThroughDecartRulesAsync<TAnalyzer>(Usings + source, null, expected);
    }

    /// <summary>A fix applied to every diagnostic of the document at once (Fix All), as well as one by one.</summary>
    public static Task FixAllAsync<TAnalyzer, TFix>(string source, string fixedSource, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
        where TFix : CodeFixProvider, new() => FixAllAsync<TAnalyzer, TFix>(source, fixedSource, 1, expected);

    /// <summary>As <see cref="FixAllAsync{TAnalyzer, TFix}(string, string, DiagnosticResult[])"/>, when the fixes come in several kinds (one Fix All pass each).</summary>
    public static async Task FixAllAsync<TAnalyzer, TFix>(string source, string fixedSource, int fixAllPasses, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
        where TFix : CodeFixProvider, new()
    {
        var test = new CSharpCodeFixTest<TAnalyzer, TFix, DefaultVerifier> { TestCode = Usings + source, FixedCode = Usings + fixedSource, BatchFixedCode = Usings + fixedSource, NumberOfFixAllIterations = fixAllPasses, NumberOfFixAllInDocumentIterations = fixAllPasses, NumberOfFixAllInProjectIterations = fixAllPasses };
        Configure(test.TestState, test);
        Configure(test.FixedState, test);
        Configure(test.BatchFixedState, test);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
        await ThroughDecartRulesAsync<TAnalyzer>(Usings + source, null, expected);
    }

    private static void Configure(SolutionState state, AnalyzerTest<DefaultVerifier> test)
    {
        test.ReferenceAssemblies = new ReferenceAssemblies("net10.0");
        state.AdditionalReferences.AddRange(References);
        state.OutputKind = OutputKind.DynamicallyLinkedLibrary;
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is var name && (name.StartsWith("System.", StringComparison.Ordinal) || name is "mscorlib.dll" or "netstandard.dll" or "Microsoft.Win32.Primitives.dll"))
            .Append(typeof(Decart.Sdk.DecartClient).Assembly.Location)
            .Append(typeof(Microsoft.Extensions.Logging.ILogger).Assembly.Location)
            .Distinct();
        return [.. paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }
}
