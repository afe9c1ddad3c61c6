using System.Collections.Immutable;
using System.Linq;
using Decart.Analyzers.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Decart.Analyzers;

/// <summary>
/// The analyzer the SDK package ships: every Decart rule (DECART001–014) in one <see cref="DiagnosticAnalyzer"/>, their
/// actions registered through one shared <see cref="RuleActions"/> so that each operation of the user's code costs one
/// callback, not one per rule. The rule classes stay separate (and are what the tests and the code fixes name);
/// their behaviour is the same either way, which the tests check by running every analyzer test through this class too.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DecartRules : DiagnosticAnalyzer
{
    private static readonly ImmutableArray<DecartAnalyzer> Rules = ImmutableArray.Create<DecartAnalyzer>(
        new UndisposedClientAnalyzer(),
        new RawApiKeyAnalyzer(),
        new StateUpdateAnalyzer(),
        new SessionShapeAnalyzer(),
        new UnhandledErrorsAnalyzer(),
        new VideoSourceAnalyzer());

    private static readonly ImmutableArray<DiagnosticDescriptor> Descriptors = Rules.SelectMany(r => r.SupportedDiagnostics).Distinct().ToImmutableArray();

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => Descriptors;

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            // The SDK's types are resolved when a rule first looks at something, not here (DecartSymbols.Deferred);
            // every shared action checks IsAvailable before a rule runs.
            var symbols = DecartSymbols.Deferred(start.Compilation);
            var actions = RuleActions.Shared();
            foreach (var rule in Rules)
            {
                rule.Register(actions, symbols);
            }

            actions.Attach(start, symbols);
        });
    }
}
