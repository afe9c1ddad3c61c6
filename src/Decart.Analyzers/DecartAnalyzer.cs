using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Decart.Analyzers;

/// <summary>
/// The common set-up of every Decart rule: concurrent, generated code skipped, the SDK's symbols resolved once per
/// compilation, and nothing registered when the compilation does not reference the SDK. A rule used on its own runs
/// through this class; the package ships them all inside <see cref="DecartRules"/>.
/// </summary>
public abstract class DecartAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public sealed override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            if (DecartSymbols.TryCreate(start.Compilation) is { } symbols)
            {
                OnCompilationStart(RuleActions.Direct(start), symbols);
            }
        });
    }

    /// <summary>Registers the rule's actions into <paramref name="actions"/> (how <see cref="DecartRules"/> runs it).</summary>
    /// <param name="actions">Where the actions go.</param>
    /// <param name="symbols">
    /// The SDK's types, resolved on first use: a rule reads them inside its actions, never while registering (the
    /// compilation may turn out not to have them, and reading one then throws).
    /// </param>
    internal void Register(RuleActions actions, DecartSymbols symbols) => OnCompilationStart(actions, symbols);

    /// <summary>Registers the rule's actions for a compilation that references the SDK.</summary>
    /// <param name="start">Where the actions go: the compilation itself, or the shared registration of <see cref="DecartRules"/>.</param>
    /// <param name="symbols">The SDK's types.</param>
    private protected abstract void OnCompilationStart(RuleActions start, DecartSymbols symbols);
}
