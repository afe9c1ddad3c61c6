using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers.Rules;

/// <summary>
/// The state-update rules of one client: DECART003 (SetPromptAsync and SetImageAsync in a row → one SetAsync),
/// DECART007 (SetAsync without an image after an image was set), DECART008 (enhancement off for a short literal
/// prompt) and DECART009 (SetPromptAsync in a loop, undebounced).
/// </summary>
public sealed class StateUpdateAnalyzer : DecartAnalyzer
{
    private const int ShortPromptWords = 6;

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics =>
        ImmutableArray.Create(Descriptors.SeparatePromptAndImage, Descriptors.SetClearsImage, Descriptors.EnhanceOffForShortPrompt, Descriptors.UndebouncedPrompt);

    /// <inheritdoc />
    private protected override void OnCompilationStart(RuleActions start, DecartSymbols symbols)
    {
        start.RegisterOperationAction(
            c =>
            {
                // DECART003, from the update call that completes a pair: the prompt-and-image updates of its block.
                var call = (IInvocationOperation)c.Operation;
                if (call.TargetMethod.Name is "SetPromptAsync" or "SetImageAsync" && symbols.IsClient(call.TargetMethod.ContainingType))
                {
                    AnalyzeUpdatePair(c, call, symbols);
                }
            },
            ["SetPromptAsync", "SetImageAsync"],
            OperationKind.Invocation);
        start.RegisterOperationAction(c => AnalyzeCall(c, symbols), ["SetPromptAsync"], OperationKind.Invocation);
        start.RegisterOperationAction(c => AnalyzeStateCreation(c, symbols), ["RealtimeState", "SetImageOptions"], OperationKind.ObjectCreation);
        start.RegisterOperationAction(
            c =>
            {
                // DECART007: a SetAsync looks back through its own method for image updates on the same client.
                var call = (IInvocationOperation)c.Operation;
                if (call.TargetMethod.Name == "SetAsync" && symbols.IsClient(call.TargetMethod.ContainingType))
                {
                    AnalyzeImageClears(c, call, symbols);
                }
            },
            ["SetAsync"],
            OperationKind.Invocation);
    }

    /// <summary>
    /// DECART003: consecutive prompt and image updates on one client, found from an update call: the block's updates
    /// are paired from the top (a prompt then an image, or the reverse, with nothing else on the client between them;
    /// each statement in one pair at most), and the pair whose second statement is this call's is reported.
    /// </summary>
    private static void AnalyzeUpdatePair(OperationAnalysisContext context, IInvocationOperation call, DecartSymbols symbols)
    {
        IOperation statement = call;
        while (statement.Parent is not null and not IBlockOperation)
        {
            statement = statement.Parent;
            if (statement is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                return;
            }
        }

        if (statement.Parent is not IBlockOperation block || statement.AwaitedCall() != call)
        {
            return;
        }

        var statements = block.Operations;
        int self = statements.IndexOf(statement);
        for (int i = 0; i < self; i++)
        {
            var first = Update(statements[i], symbols, out var receiver);
            if (first is null || receiver is null)
            {
                continue;
            }

            for (int j = i + 1; j < statements.Length; j++)
            {
                var second = Update(statements[j], symbols, out var otherReceiver);
                if (second is not null && SymbolEqualityComparer.Default.Equals(receiver, otherReceiver) && second != first)
                {
                    if (j == self)
                    {
                        context.ReportDiagnostic(Diagnostic.Create(
                            Descriptors.SeparatePromptAndImage,
                            statements[j].Syntax.GetLocation(),
                            additionalLocations: new[] { statements[i].Syntax.GetLocation() },
                            receiver.Name));
                    }

                    i = j;
                    break;
                }

                if (Mentions(statements[j], receiver))
                {
                    break; // something else happens on the client in between
                }
            }
        }
    }

    /// <summary>"prompt" or "image" when the statement awaits SetPromptAsync/SetImageAsync on a named client.</summary>
    private static string? Update(IOperation statement, DecartSymbols symbols, out ISymbol? receiver)
    {
        receiver = null;
        var call = statement.AwaitedCall();
        if (call is null || !symbols.IsClient(call.TargetMethod.ContainingType))
        {
            return null;
        }

        receiver = call.Instance.ReferencedSymbol();
        return call.TargetMethod.Name switch
        {
            "SetPromptAsync" => "prompt",
            "SetImageAsync" => "image",
            _ => null,
        };
    }

    private static bool Mentions(IOperation operation, ISymbol symbol) =>
        operation.DescendantsAndSelf().Any(o => o is ILocalReferenceOperation or IParameterReferenceOperation or IFieldReferenceOperation or IPropertyReferenceOperation
            && SymbolEqualityComparer.Default.Equals(o.ReferencedSymbol(), symbol));

    /// <summary>DECART008 for SetPromptAsync(literal, enhance: false); DECART009 for SetPromptAsync in a loop.</summary>
    private static void AnalyzeCall(OperationAnalysisContext context, DecartSymbols symbols)
    {
        var call = (IInvocationOperation)context.Operation;
        if (!symbols.IsClientMethod(call.TargetMethod, "SetPromptAsync"))
        {
            return;
        }

        var enhance = call.Argument("enhance");
        if (enhance?.Value.ConstantValue is { HasValue: true, Value: false } && call.Argument("prompt")?.Value.ConstantString() is { } prompt && Words(prompt) < ShortPromptWords)
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.EnhanceOffForShortPrompt, enhance.Syntax.GetLocation(), Words(prompt)));
        }

        // DECART009. A loop whose prompt changes each time round (it depends on the loop) and that does not wait
        // between sends; a loop sending one prompt (to many sessions, or again after a failure) is not typing.
        for (var o = call.Parent; o is not null; o = o.Parent)
        {
            if (o is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                if (IsChangeHandler(o) && !Waits(o))
                {
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.UndebouncedPrompt, call.Syntax.GetLocation(), "in a text-changed handler"));
                }

                return;
            }

            if (o is ILoopOperation loop)
            {
                if (call.Argument("prompt")?.Value is { } sent && DependsOn(sent, loop) && !Waits(loop))
                {
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.UndebouncedPrompt, call.Syntax.GetLocation(), "inside a loop"));
                }

                return;
            }
        }

        if (context.ContainingSymbol is IMethodSymbol method && IsChangeHandlerName(method.Name) && !Waits(call.Root()))
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.UndebouncedPrompt, call.Syntax.GetLocation(), "in a text-changed handler"));
        }
    }

    /// <summary>Event and handler names of text input: <c>TextChanged</c>, <c>ValueChanged</c>, <c>Input</c>, key events.</summary>
    private static bool IsChangeEventName(string name) =>
        name.EndsWith("TextChanged", System.StringComparison.Ordinal) || name.EndsWith("ValueChanged", System.StringComparison.Ordinal)
        || name is "Input" or "KeyUp" or "KeyDown" or "TextInput";

    /// <summary>Handler methods named for text input (<c>promptBox_TextChanged</c>, <c>OnTextChanged</c>, <c>OnInput</c>).</summary>
    private static bool IsChangeHandlerName(string name) =>
        name.EndsWith("TextChanged", System.StringComparison.Ordinal) || name.EndsWith("ValueChanged", System.StringComparison.Ordinal)
        || name is "OnInput" or "OnInputAsync" or "OnTextChangedAsync" or "OnKeyUp" or "OnKeyDown";

    /// <summary>A lambda or local function subscribed to a text-change event (<c>box.TextChanged += (s, e) => …</c>).</summary>
    private static bool IsChangeHandler(IOperation function)
    {
        for (var o = function.Parent; o is not null; o = o.Parent)
        {
            switch (o)
            {
                case IDelegateCreationOperation or IConversionOperation:
                    continue;
                case IEventAssignmentOperation { EventReference: IEventReferenceOperation { Event.Name: var name } }:
                    return IsChangeEventName(name);
                default:
                    return function is ILocalFunctionOperation local && IsChangeHandlerName(local.Symbol.Name);
            }
        }

        return false;
    }

    /// <summary>Whether code waits or debounces: <c>Task.Delay</c>, a timer, or a call named <c>Debounce</c>/<c>Throttle</c>.</summary>
    private static bool Waits(IOperation body) =>
        body.Descendants().Any(o => o is IInvocationOperation { TargetMethod.Name: "Delay" or "Debounce" or "Throttle" or "Sample" or "WaitForNextTickAsync" }
            || o is IObjectCreationOperation { Type.Name: "PeriodicTimer" or "Timer" or "DispatcherTimer" });

    /// <summary>Whether a value depends on a loop: it reads the loop's variable or a local declared in its body.</summary>
    private static bool DependsOn(IOperation value, ILoopOperation loop)
    {
        var span = loop.Syntax.Span;
        foreach (var reference in value.DescendantsAndSelf().OfType<ILocalReferenceOperation>())
        {
            if (reference.Local.Locations.Any(l => l.IsInSource && span.Contains(l.SourceSpan)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>DECART008 for <c>new RealtimeState { Prompt = literal, Enhance = false }</c> and the same in <c>SetImageOptions</c>.</summary>
    private static void AnalyzeStateCreation(OperationAnalysisContext context, DecartSymbols symbols)
    {
        var creation = (IObjectCreationOperation)context.Operation;
        if (!SymbolEqualityComparer.Default.Equals(creation.Type, symbols.RealtimeState) && !SymbolEqualityComparer.Default.Equals(creation.Type, symbols.SetImageOptions))
        {
            return;
        }

        var enhance = creation.InitializerValue("Enhance");
        if (enhance?.Unwrap().ConstantValue is { HasValue: true, Value: false } && creation.InitializerValue("Prompt").ConstantString() is { } prompt && Words(prompt) < ShortPromptWords)
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.EnhanceOffForShortPrompt, enhance.Parent!.Syntax.GetLocation(), Words(prompt)));
        }
    }

    /// <summary>DECART007: a SetAsync without an image on a client whose image an earlier update in the method set.</summary>
    private static void AnalyzeImageClears(OperationAnalysisContext context, IInvocationOperation target, DecartSymbols symbols)
    {
        if (target.Instance.ReferencedSymbol() is not { } targetReceiver || HasImage(target))
        {
            return; // only a state that leaves Image out can clear one: the method is not walked for the others
        }

        var calls = target.Root().DescendantsAndSelf().OfType<IInvocationOperation>()
            .Where(c => c.Syntax.SpanStart <= target.Syntax.SpanStart
                && (c.TargetMethod.Name is "SetImageAsync" or "SetAsync" && symbols.IsClient(c.TargetMethod.ContainingType)
                    && SymbolEqualityComparer.Default.Equals(c.Instance.ReferencedSymbol(), targetReceiver)
                    || symbols.IsConnect(c.TargetMethod) && SymbolEqualityComparer.Default.Equals(c.ResultHolder(), targetReceiver)))
            .OrderBy(c => c.Syntax.SpanStart);
        bool imageSet = false;
        foreach (var call in calls)
        {
            if (symbols.IsConnect(call.TargetMethod))
            {
                // The session starts with InitialState: an image given there is set like a SetImageAsync.
                imageSet = call.Argument("options")?.Value.Unwrap() is IObjectCreationOperation options
                    && options.InitializerValue("InitialState")?.Unwrap() is IObjectCreationOperation initial
                    && initial.InitializerValue("Image")?.Unwrap().IsGiven() == true;
                continue;
            }

            if (call.TargetMethod.Name == "SetImageAsync")
            {
                imageSet = call.Argument("image")?.Value.Unwrap().IsGiven() == true;
                continue;
            }

            // An Image written out, even "Image = null" (the API's way to clear it on purpose), is a decision; only a
            // state that leaves Image out clears it by accident.
            bool keepsImage = call.Argument("state")?.Value.Unwrap() is not IObjectCreationOperation explicitState
                || explicitState.InitializerValue("Image")?.Unwrap().IsGiven() == true;
            if (call.Syntax == target.Syntax)
            {
                if (imageSet)
                {
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.SetClearsImage, target.Syntax.GetLocation(), targetReceiver.Name));
                }

                return;
            }

            imageSet = keepsImage;
        }
    }

    /// <summary>Whether a SetAsync's state writes out Image (even <c>Image = null</c>), or is not a <c>new RealtimeState { … }</c> to read.</summary>
    private static bool HasImage(IInvocationOperation setAsync) =>
        setAsync.Argument("state")?.Value.Unwrap() is not IObjectCreationOperation creation || creation.InitializerValue("Image") is not null;

    private static int Words(string text) => text.Split(new[] { ' ', '\t', '\n', '\r' }, System.StringSplitOptions.RemoveEmptyEntries).Length;
}
