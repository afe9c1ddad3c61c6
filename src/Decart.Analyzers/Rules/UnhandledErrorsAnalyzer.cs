using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers.Rules;

/// <summary>
/// DECART005: a <c>ConnectAsync</c> whose options (written in place) set no <c>OnError</c>, in a type that never
/// subscribes to a realtime client's <c>Error</c> event.
/// </summary>
public sealed class UnhandledErrorsAnalyzer : DecartAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.UnhandledErrors);

    /// <inheritdoc />
    private protected override void OnCompilationStart(RuleActions start, DecartSymbols symbols)
    {
        // Driver-wide and on demand: only a connect with in-place options lacking OnError (rare) makes the rule look
        // at its type for an Error subscription — no per-type actions on every type of the project.
        start.RegisterOperationAction(
            c =>
            {
                var call = (IInvocationOperation)c.Operation;
                if (!symbols.IsConnect(call.TargetMethod)
                    || call.Argument("options")?.Value.Unwrap() is not IObjectCreationOperation options
                    || options.InitializerValue("OnError") is not null
                    || c.ContainingSymbol.ContainingType is not { } type
                    || call.SemanticModel is not { } model
                    || SubscribesToError(type, model, symbols, c.CancellationToken))
                {
                    return;
                }

                c.ReportDiagnostic(Diagnostic.Create(Descriptors.UnhandledErrors, options.Syntax.GetLocation()));
            },
            OperationKind.Invocation);
    }

    /// <summary>
    /// Whether the type's code anywhere does <c>x.Error += …</c> on a realtime client. In another file of a partial
    /// type (no semantic model of it here) an <c>Error +=</c> counts without the symbol check: a missed warning rather
    /// than a false one.
    /// </summary>
    private static bool SubscribesToError(INamedTypeSymbol type, SemanticModel model, DecartSymbols symbols, CancellationToken cancellationToken)
    {
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            var root = reference.GetSyntax(cancellationToken);
            foreach (var assignment in root.DescendantNodes().OfType<AssignmentExpressionSyntax>())
            {
                if (!assignment.IsKind(SyntaxKind.AddAssignmentExpression))
                {
                    continue;
                }

                string? name = assignment.Left switch
                {
                    MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText,
                    IdentifierNameSyntax identifier => identifier.Identifier.ValueText,
                    _ => null,
                };
                if (name != "Error")
                {
                    continue;
                }

                if (assignment.SyntaxTree != model.SyntaxTree
                    || model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol is IEventSymbol { Name: "Error" } e && symbols.IsClient(e.ContainingType))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
