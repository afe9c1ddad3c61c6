using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers.Rules;

/// <summary>
/// DECART001: a realtime client from <c>ConnectAsync</c> must be disposed on every path (a using, or a finally),
/// or handed on (returned, stored in a field or property, passed to a method); a field holding one must be
/// disposed somewhere in its type.
/// </summary>
public sealed class UndisposedClientAnalyzer : DecartAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.UndisposedClient);

    /// <inheritdoc />
    private protected override void OnCompilationStart(RuleActions start, DecartSymbols symbols)
    {
        start.RegisterOperationAction(c => AnalyzeConnect(c, symbols), ["ConnectAsync"], OperationKind.Invocation);
        start.RegisterTypeStartAction(s => AnalyzeType(s, symbols));
    }

    private static void AnalyzeConnect(OperationAnalysisContext context, DecartSymbols symbols)
    {
        var call = (IInvocationOperation)context.Operation;
        if (!symbols.IsConnect(call.TargetMethod))
        {
            return;
        }

        switch (call.ResultConsumer())
        {
            case IExpressionStatementOperation statement:
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedClient, statement.Syntax.GetLocation(), "The client"));
                return;
            case ISimpleAssignmentOperation { Target: IDiscardOperation } discarded:
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedClient, discarded.Syntax.GetLocation(), "The client"));
                return;
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }:
                if (declarator.IsUsingDeclared() || IsHandledLocal(declarator.Symbol, declarator.Root()))
                {
                    return;
                }

                context.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedClient, declarator.Syntax.GetLocation(), $"'{declarator.Symbol.Name}'"));
                return;
            case ISimpleAssignmentOperation { Target: ILocalReferenceOperation local } assignment:
                if (!IsHandledLocal(local.Local, assignment.Root()))
                {
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedClient, assignment.Syntax.GetLocation(), $"'{local.Local.Name}'"));
                }

                return;
            default:
                return; // returned, passed on, stored in a field or property (the field rule takes over), or used in an expression
        }
    }

    /// <summary>Whether a local holding a client is disposed in a using or finally, or escapes.</summary>
    private static bool IsHandledLocal(ILocalSymbol local, IOperation root) =>
        root.Descendants().OfType<ILocalReferenceOperation>().Any(reference => SymbolEqualityComparer.Default.Equals(reference.Local, local) && reference.ClosesOrHandsOn());

    private static void AnalyzeType(SymbolStartAnalysisContext context, DecartSymbols symbols)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        var fields = type.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsStatic && !f.IsImplicitlyDeclared && symbols.IsClient(f.Type)).ToImmutableArray();
        if (fields.IsEmpty)
        {
            return;
        }

        // A field the type fills from ConnectAsync is the type's to close; one filled otherwise (a client injected
        // through the constructor, set by a caller) belongs to whoever made it, and is not checked.
        var disposed = new ConcurrentDictionary<IFieldSymbol, bool>(SymbolEqualityComparer.Default);
        var owned = new ConcurrentDictionary<IFieldSymbol, bool>(SymbolEqualityComparer.Default);
        context.RegisterOperationAction(
            c =>
            {
                var call = (IInvocationOperation)c.Operation;
                if (symbols.IsConnect(call.TargetMethod))
                {
                    if (call.ResultConsumer() is ISimpleAssignmentOperation { Target: IFieldReferenceOperation target } && fields.Contains(target.Field, SymbolEqualityComparer.Default))
                    {
                        owned[target.Field] = true;
                    }

                    return;
                }

                if (!DecartSymbols.IsDisposeName(call.TargetMethod.Name) || call.Instance is null)
                {
                    return;
                }

                var receiver = call.Instance.Unwrap();
                if (receiver is IConditionalAccessInstanceOperation)
                {
                    for (var o = call.Parent; o is not null; o = o.Parent)
                    {
                        if (o is IConditionalAccessOperation conditional)
                        {
                            receiver = conditional.Operation.Unwrap();
                            break;
                        }
                    }
                }

                if (receiver is IFieldReferenceOperation field && fields.Contains(field.Field, SymbolEqualityComparer.Default))
                {
                    disposed[field.Field] = true;
                }
            },
            OperationKind.Invocation);
        context.RegisterSymbolEndAction(c =>
        {
            foreach (var field in fields)
            {
                if (owned.ContainsKey(field) && !disposed.ContainsKey(field))
                {
                    c.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedClient, field.Locations[0], $"'{field.Name}'"));
                }
            }
        });
    }
}
