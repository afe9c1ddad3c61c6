using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
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

    /// <summary>
    /// The syntactic gate in front of every operation action: whether a method's (or initializer's) code names one of
    /// <paramref name="names"/> — an identifier token, so comments and strings do not count — or, with
    /// <paramref name="orImplicitNew"/>, holds a target-typed <c>new(...)</c>, whose type is not spelled out. Most
    /// methods of a project never touch the SDK; for them a token scan is all the rule costs, and no operation action
    /// of ours runs on their calls and assignments.
    /// </summary>
    /// <param name="blocks">The operation blocks of an operation block start.</param>
    /// <param name="names">The identifiers that make the block worth analyzing.</param>
    /// <param name="orImplicitNew">Also pass blocks with a target-typed object creation.</param>
    /// <returns>True when the rule must look at the block.</returns>
    private protected static bool Mentions(ImmutableArray<IOperation> blocks, ImmutableHashSet<string> names, bool orImplicitNew = false)
    {
        foreach (var block in blocks)
        {
            foreach (var token in block.Syntax.DescendantTokens())
            {
                if (token.IsKind(SyntaxKind.IdentifierToken) ? names.Contains(token.ValueText)
                    : orImplicitNew && token.IsKind(SyntaxKind.NewKeyword) && token.Parent.IsKind(SyntaxKind.ImplicitObjectCreationExpression))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
