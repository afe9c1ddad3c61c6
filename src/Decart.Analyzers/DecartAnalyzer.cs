using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Decart.Analyzers;

/// <summary>
/// The common set-up of every Decart rule: concurrent, generated code skipped, the SDK's symbols resolved once per
/// compilation, and nothing registered when the compilation does not reference the SDK.
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
                OnCompilationStart(start, symbols);
            }
        });
    }

    /// <summary>Registers the rule's actions for a compilation that references the SDK.</summary>
    /// <param name="context">The compilation's start context.</param>
    /// <param name="symbols">The SDK's types.</param>
    private protected abstract void OnCompilationStart(CompilationStartAnalysisContext context, DecartSymbols symbols);
}
