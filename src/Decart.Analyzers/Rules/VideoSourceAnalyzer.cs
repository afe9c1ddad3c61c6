using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers.Rules;

/// <summary>
/// The camera side of a session: DECART012 (a back camera mirrored with <c>MirrorMode.On</c>) and DECART014 (a video
/// source the method makes and never stops).
/// </summary>
public sealed class VideoSourceAnalyzer : DecartAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.MirrorBackCamera, Descriptors.UndisposedSource);

    /// <inheritdoc />
    private protected override void OnCompilationStart(RuleActions start, DecartSymbols symbols)
    {
        start.RegisterOperationAction(
            c =>
            {
                var sources = symbols.StoppableSources;
                if (sources.IsEmpty)
                {
                    return;
                }

                var operation = c.Operation;
                bool made = operation switch
                {
                    IObjectCreationOperation creation => creation.Type is INamedTypeSymbol t && sources.Contains(t),
                    IInvocationOperation { TargetMethod: { Name: "OpenAsync", IsStatic: true } method } => sources.Contains(method.ContainingType),
                    _ => false,
                };
                if (made)
                {
                    AnalyzeSource(c, operation, symbols);
                }
                else if (operation is IInvocationOperation call && symbols.IsConnect(call.TargetMethod))
                {
                    AnalyzeMirror(c, call);
                }
            },
            ["RawVideoSource", "SyntheticVideoSource", "OpenAsync", "ConnectAsync"],
            OperationKind.ObjectCreation,
            OperationKind.Invocation);
    }

    /// <summary>DECART014: a source kept in a local that is neither disposed, nor owned by the session, nor handed on.</summary>
    private static void AnalyzeSource(OperationAnalysisContext context, IOperation made, DecartSymbols symbols)
    {
        if (made.ResultConsumer() is not IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } || declarator.IsUsingDeclared())
        {
            return; // in a using, returned, stored in a field, passed straight on: closed, or someone else's to stop
        }

        // Passing the source to ConnectAsync lends it to the session, unless the options give it away (OwnsSource = true).
        var local = declarator.Symbol;
        bool handled = declarator.Root().Descendants().OfType<ILocalReferenceOperation>().Any(reference =>
            SymbolEqualityComparer.Default.Equals(reference.Local, local)
            && reference.ClosesOrHandsOn(argument => argument.Parent is IInvocationOperation connect && symbols.IsConnect(connect.TargetMethod)
                && !(connect.Argument("options")?.Value.Unwrap() is IObjectCreationOperation options
                    && options.InitializerValue("OwnsSource")?.ConstantValue is { HasValue: true, Value: true })));
        if (handled)
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedSource, declarator.Syntax.GetLocation(), local.Name));
    }

    /// <summary>DECART012: <c>Mirror = MirrorMode.On</c> for a source the method made facing the environment.</summary>
    private static void AnalyzeMirror(OperationAnalysisContext context, IInvocationOperation connect)
    {
        if (connect.Argument("options")?.Value.Unwrap() is not IObjectCreationOperation options
            || options.Initializer is null
            || options.Initializer.Initializers.OfType<ISimpleAssignmentOperation>().FirstOrDefault(a => a.Target is IPropertyReferenceOperation { Property.Name: "Mirror" }) is not { } mirror
            || mirror.Value.Unwrap() is not IFieldReferenceOperation { Field: { Name: "On", ContainingType.Name: "MirrorMode" } }
            || connect.Argument("source")?.Value.Unwrap() is not ILocalReferenceOperation { Local: var source })
        {
            return;
        }

        var made = connect.Root().Descendants().OfType<IVariableDeclaratorOperation>().FirstOrDefault(d => SymbolEqualityComparer.Default.Equals(d.Symbol, source))?.Initializer?.Value;
        if (made is not null && made.DescendantsAndSelf().Any(o => o is IFieldReferenceOperation { Field: { Name: "Environment", ContainingType.Name: "FacingMode" } }))
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.MirrorBackCamera, mirror.Value.Syntax.GetLocation(), source.Name));
        }
    }
}
