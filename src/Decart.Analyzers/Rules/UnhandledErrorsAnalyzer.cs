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
    /// <summary>Diagnostic property: the options were written in place, so the fix can add the handler to them.</summary>
    public const string InPlaceKey = "InPlace";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.UnhandledErrors, Descriptors.UnobservedConnectionState);

    /// <inheritdoc />
    private protected override void OnCompilationStart(RuleActions start, DecartSymbols symbols)
    {
        // Driver-wide and on demand: only a connect whose options (in place, or a local of the method) lack a handler
        // makes the rule look at its type for an event subscription — no per-type actions on every type.
        start.RegisterOperationAction(
            c =>
            {
                var call = (IInvocationOperation)c.Operation;
                if (!symbols.IsConnect(call.TargetMethod) || call.Argument("options") is not { } argument
                    || Resolve(argument.Value, out bool inPlace) is not { } options
                    || c.ContainingSymbol.ContainingType is not { } type
                    || call.SemanticModel is not { } model)
                {
                    return;
                }

                var location = (inPlace ? argument.Value.Unwrap() : argument.Value).Syntax.GetLocation();
                var properties = inPlace ? ImmutableDictionary<string, string?>.Empty.Add(InPlaceKey, "true") : ImmutableDictionary<string, string?>.Empty;
                if (!Sets(options, "OnError") && !SubscribesTo(type, "Error", model, symbols, c.CancellationToken))
                {
                    c.ReportDiagnostic(Diagnostic.Create(Descriptors.UnhandledErrors, location, properties));
                }

                if (!Sets(options, "OnConnectionChanged") && !SubscribesTo(type, "ConnectionChanged", model, symbols, c.CancellationToken))
                {
                    c.ReportDiagnostic(Diagnostic.Create(Descriptors.UnobservedConnectionState, location, properties));
                }
            },
            ["ConnectAsync"],
            OperationKind.Invocation);
    }

    /// <summary>
    /// The options a connect is given, as far as the method shows them: written in place (<c>new RealtimeConnectOptions
    /// { … }</c>, also through <c>with</c>), or a local of the method initialized so and never assigned again. Options
    /// from a parameter, a field or a helper's return are not seen (null: no warning).
    /// </summary>
    private static IOperation? Resolve(IOperation value, out bool inPlace)
    {
        inPlace = false;
        var unwrapped = value.Unwrap();
        if (unwrapped is IObjectCreationOperation or IWithOperation)
        {
            inPlace = unwrapped is IObjectCreationOperation;
            return unwrapped;
        }

        if (unwrapped is not ILocalReferenceOperation { Local: var local })
        {
            return null;
        }

        IOperation? initial = null;
        foreach (var operation in value.Root().Descendants())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation { Initializer.Value: { } init } declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, local):
                    initial = init.Unwrap();
                    break;
                case ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } when SymbolEqualityComparer.Default.Equals(target.Local, local):
                    return null; // assigned again: which options reach the connect is not plain
            }
        }

        return initial is IObjectCreationOperation or IWithOperation ? initial : null;
    }

    /// <summary>Whether options (an object creation or a <c>with</c>) set a member, through <c>with</c> chains.</summary>
    private static bool Sets(IOperation options, string member)
    {
        switch (options)
        {
            case IObjectCreationOperation creation:
                return creation.InitializerValue(member) is not null;
            case IWithOperation with:
                return with.Initializer.Initializers.Any(i => i is ISimpleAssignmentOperation { Target: IPropertyReferenceOperation target } && target.Property.Name == member)
                    || with.Operand.Unwrap() is not (IObjectCreationOperation or IWithOperation)   // the base options are not seen: assume set
                    || Sets(with.Operand.Unwrap(), member);
            default:
                return true;
        }
    }

    /// <summary>
    /// Whether the type's code anywhere does <c>x.{Event} += …</c> on a realtime client. In another file of a partial
    /// type (no semantic model of it here) a subscription counts without the symbol check: a missed warning rather
    /// than a false one.
    /// </summary>
    private static bool SubscribesTo(INamedTypeSymbol type, string eventName, SemanticModel model, DecartSymbols symbols, CancellationToken cancellationToken)
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
                if (name != eventName)
                {
                    continue;
                }

                if (assignment.SyntaxTree != model.SyntaxTree
                    || model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol is IEventSymbol e && e.Name == eventName && symbols.IsClient(e.ContainingType))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
