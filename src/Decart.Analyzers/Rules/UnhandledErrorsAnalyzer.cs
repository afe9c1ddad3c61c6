using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers.Rules;

/// <summary>
/// DECART005: a <c>ConnectAsync</c> whose options (written in place) set no <c>OnError</c>, in a type that never
/// subscribes to a realtime client's <c>Error</c> event.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnhandledErrorsAnalyzer : DecartAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.UnhandledErrors);

    /// <inheritdoc />
    private protected override void OnCompilationStart(CompilationStartAnalysisContext start, DecartSymbols symbols)
    {
        start.RegisterSymbolStartAction(
            type =>
            {
                var candidates = new ConcurrentBag<Location>();
                int subscribed = 0;
                type.RegisterOperationAction(
                    c =>
                    {
                        if (c.Operation is IEventAssignmentOperation { Adds: true, EventReference: IEventReferenceOperation reference } && reference.Event.Name == "Error" && symbols.IsClient(reference.Event.ContainingType))
                        {
                            System.Threading.Interlocked.Exchange(ref subscribed, 1);
                        }
                        else if (c.Operation is IInvocationOperation call && symbols.IsConnect(call.TargetMethod)
                            && call.Argument("options")?.Value.Unwrap() is IObjectCreationOperation options
                            && options.InitializerValue("OnError") is null)
                        {
                            candidates.Add(options.Syntax.GetLocation());
                        }
                    },
                    OperationKind.EventAssignment,
                    OperationKind.Invocation);
                type.RegisterSymbolEndAction(c =>
                {
                    if (System.Threading.Volatile.Read(ref subscribed) == 1)
                    {
                        return;
                    }

                    foreach (var location in candidates)
                    {
                        c.ReportDiagnostic(Diagnostic.Create(Descriptors.UnhandledErrors, location));
                    }
                });
            },
            SymbolKind.NamedType);
    }
}
