using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers.Rules;

/// <summary>
/// How a method shapes its sessions: DECART004 (a client disconnected, then a new one connected with the same
/// model — change the prompt instead) and DECART006 (literal capture size or fps that differ from the catalog
/// model the method connects to).
/// </summary>
public sealed class SessionShapeAnalyzer : DecartAnalyzer
{
    /// <summary>Diagnostic property: the model expression to use in the fix (e.g. <c>RealtimeModels.Lucy21</c>).</summary>
    public const string ModelKey = "Model";

    /// <summary>Diagnostic property: the model member to use (<c>Width</c>, <c>Height</c>, <c>Fps</c>).</summary>
    public const string MemberKey = "Member";

    /// <summary>The SDK catalog's realtime models by property name: fps, width, height (from PROTOCOL.md).</summary>
    private static readonly ImmutableDictionary<string, (int Fps, int Width, int Height)> Catalog = new Dictionary<string, (int, int, int)>
    {
        ["Lucy21"] = (30, 1088, 624), ["Lucy25"] = (30, 1280, 720), ["LucyVton2"] = (30, 1088, 624), ["LucyVton3"] = (30, 1088, 624),
        ["Lucy21Vton2"] = (30, 1088, 624), ["LucyRestyle2"] = (30, 1280, 704), ["LucyLatest"] = (30, 1088, 624),
        ["LucyVton35"] = (30, 1280, 720), ["LucyVtonLatest"] = (30, 1280, 720), ["LucyRestyleLatest"] = (30, 1280, 704), ["Mirage"] = (25, 1280, 704),
        ["MirageV2"] = (22, 1280, 704), ["LucyV2v720pRt"] = (25, 1280, 704), ["Lucy2Rt"] = (20, 1280, 720), ["LiveAvatar"] = (25, 1280, 720),
    }.ToImmutableDictionary();

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.ReconnectToChangePrompt, Descriptors.ReconnectToSwitchSource, Descriptors.FormatDiffersFromModel);

    /// <inheritdoc />
    private protected override void OnCompilationStart(RuleActions start, DecartSymbols symbols)
    {
        // Driver-wide actions, each reporting only inside its own operation: a connect reports DECART004 on itself, a
        // format-setting operation reports DECART006 on its own literals. Both look at their method only when they
        // are one of those (rare) operations.
        start.RegisterOperationAction(
            c =>
            {
                var call = (IInvocationOperation)c.Operation;
                if (symbols.IsConnect(call.TargetMethod))
                {
                    if (!MayReconnect(call))
                    {
                        return;
                    }

                    var (connects, disposals) = Collect(call, symbols);
                    CheckReconnects(d => ReportIfInside(c, d), connects, disposals);
                }
                else if (IsFormat(call))
                {
                    CheckFormats(c.ReportDiagnostic, Connects(call, symbols), [call]);
                }
            },
            ["ConnectAsync", "OpenAsync"],
            OperationKind.Invocation);
        start.RegisterOperationAction(
            c =>
            {
                if (IsFormat(c.Operation))
                {
                    CheckFormats(c.ReportDiagnostic, Connects(c.Operation, symbols), [c.Operation]);
                }
            },
            ["VideoFormat", "Vp8EncoderOptions"],
            OperationKind.ObjectCreation);
    }

    private static bool IsFormat(IOperation operation) => operation is
        IInvocationOperation { TargetMethod.Name: "OpenAsync", TargetMethod.ContainingType.Name: "IvfFileSource" }
        or IObjectCreationOperation { Type.Name: "VideoFormat" or "Vp8EncoderOptions" };

    /// <summary>
    /// Whether a connect can be the second half of a reconnect, the only place DECART004/010 report: it sits in a loop,
    /// or its method's text names <c>ConnectAsync</c> a second time. Most connects are neither, and their method is
    /// not walked. (A second connect's call names the method, so its text is there unless spelt with Unicode escapes,
    /// which also mean a walk; a mention in a comment or in another name only costs the walk.)
    /// </summary>
    private static bool MayReconnect(IInvocationOperation connect)
    {
        if (Enclosing<ILoopOperation>(connect) is not null)
        {
            return true;
        }

        var root = connect.Root().Syntax;
        var text = root.SyntaxTree.GetText().ToString(root.Span);
        int first = text.IndexOf("ConnectAsync", System.StringComparison.Ordinal);
        return first >= 0 && text.IndexOf("ConnectAsync", first + 1, System.StringComparison.Ordinal) >= 0
            || text.IndexOf("\\u", System.StringComparison.OrdinalIgnoreCase) >= 0; // an identifier may be spelt with escapes
    }

    private static void ReportIfInside(OperationAnalysisContext context, Diagnostic diagnostic)
    {
        if (context.Operation.Syntax.Span.Contains(diagnostic.Location.SourceSpan))
        {
            context.ReportDiagnostic(diagnostic);
        }
    }

    /// <summary>Diagnostic property (DECART004): the name of the client that was closed, for the fix.</summary>
    public const string FirstClientKey = "FirstClient";

    /// <summary>The calls that close a client handed to them: a helper named like <c>CloseAsync(rt)</c>, <c>StopSessionAsync(rt)</c>.</summary>
    private static bool IsClosingHelper(string name) =>
        name.StartsWith("Close", System.StringComparison.Ordinal) || name.StartsWith("Dispose", System.StringComparison.Ordinal)
        || name.StartsWith("Disconnect", System.StringComparison.Ordinal) || name.StartsWith("Stop", System.StringComparison.Ordinal)
        || name.StartsWith("End", System.StringComparison.Ordinal) || name.StartsWith("Shutdown", System.StringComparison.Ordinal);

    /// <summary>One way a client's session ended: which holder, where (the position after which it is closed), and by what.</summary>
    private readonly struct Disposal
    {
        public Disposal(ISymbol client, int end, IOperation? statement)
        {
            Client = client;
            End = end;
            Statement = statement;
        }

        public ISymbol Client { get; }

        public int End { get; }

        public IOperation? Statement { get; }
    }

    /// <summary>
    /// The connects and client closings of the method (or lambda-holding body) an operation belongs to: each closing as
    /// the holder it ends and where — an explicit <c>Dispose</c>/<c>DisposeAsync</c>/<c>DisconnectAsync</c> call (also
    /// <c>rt?.DisposeAsync()</c>), the end of a <c>using</c>/<c>await using</c> statement or of the block of a
    /// <c>using</c> declaration (also over <c>rt.ConfigureAwait(false)</c> or a copy of <c>rt</c>), or a helper named
    /// <c>Close…</c>/<c>Dispose…</c>/<c>Disconnect…</c>/<c>Stop…</c>/<c>End…</c> that is handed the client — every form
    /// DECART001 accepts for a client it sees closed. Copies (<c>var s = rt;</c>) are followed back to the client.
    /// </summary>
    private static (List<IInvocationOperation> Connects, List<Disposal> Disposals) Collect(IOperation operation, DecartSymbols symbols)
    {
        var connects = new List<IInvocationOperation>();
        var raw = new List<Disposal>();
        var aliases = new Dictionary<ISymbol, ISymbol>(SymbolEqualityComparer.Default);
        foreach (var descendant in operation.Root().DescendantsAndSelf())
        {
            switch (descendant)
            {
                case IInvocationOperation call when symbols.IsConnect(call.TargetMethod):
                    connects.Add(call);
                    break;
                case IInvocationOperation call when DecartSymbols.IsDisposeName(call.TargetMethod.Name) && call.Receiver() is { } receiver && receiver.ReferencedSymbol() is { } disposed:
                    raw.Add(new Disposal(disposed, call.Syntax.SpanStart, StatementOf(call)));
                    break;
                case IInvocationOperation call when call.Arguments.Length > 0 && IsClosingHelper(call.TargetMethod.Name):
                    foreach (var argument in call.Arguments)
                    {
                        if (symbols.IsClient(argument.Value.Unwrap().Type) && argument.Value.ReferencedSymbol() is { } handed)
                        {
                            raw.Add(new Disposal(handed, call.Syntax.SpanStart, null));
                        }
                    }

                    break;
                case IVariableDeclaratorOperation { Initializer.Value: { } value } declarator when CopiedClient(value, symbols) is { } copied:
                    aliases[declarator.Symbol] = copied;
                    break;
                case ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } assignment when CopiedClient(assignment.Value, symbols) is { } copied:
                    aliases[target.Local] = copied;
                    break;
                case IUsingOperation { Resources: { } resources } statement:
                    foreach (var client in UsedClients(resources, symbols))
                    {
                        raw.Add(new Disposal(client, statement.Syntax.Span.End, null));
                    }

                    break;
                case IUsingDeclarationOperation { DeclarationGroup: { } group } declaration when declaration.Parent is IBlockOperation block:
                    foreach (var declarator in group.Declarations.SelectMany(d => d.Declarators))
                    {
                        raw.Add(new Disposal(declarator.Symbol, block.Syntax.Span.End, null));
                    }

                    break;
            }
        }

        var disposals = new List<Disposal>(raw.Count);
        foreach (var disposal in raw)
        {
            var client = disposal.Client;
            for (int hops = 0; hops < 8 && aliases.TryGetValue(client, out var original); hops++)
            {
                client = original;
            }

            if (symbols.IsClient(TypeOf(client)))
            {
                disposals.Add(new Disposal(client, disposal.End, disposal.Statement));
            }
        }

        return (connects, disposals);
    }

    /// <summary>The connects of the method an operation belongs to (all DECART006 needs: no closings, no copies).</summary>
    private static List<IInvocationOperation> Connects(IOperation operation, DecartSymbols symbols) =>
        [.. operation.Root().DescendantsAndSelf().OfType<IInvocationOperation>().Where(call => symbols.IsConnect(call.TargetMethod))];

    private static ITypeSymbol? TypeOf(ISymbol symbol) => symbol switch
    {
        ILocalSymbol local => local.Type,
        IFieldSymbol field => field.Type,
        IPropertySymbol property => property.Type,
        IParameterSymbol parameter => parameter.Type,
        _ => null,
    };

    /// <summary>The client holder a value copies: <c>rt</c>, or <c>rt.ConfigureAwait(false)</c>.</summary>
    private static ISymbol? CopiedClient(IOperation value, DecartSymbols symbols)
    {
        var unwrapped = value.Unwrap();
        if (unwrapped is IInvocationOperation { TargetMethod.Name: "ConfigureAwait" } configured
            && (configured.Instance ?? (configured.Arguments.Length > 0 ? configured.Arguments[0].Value : null)) is { } receiver)
        {
            unwrapped = receiver.Unwrap();
        }

        return symbols.IsClient(unwrapped.Type) ? unwrapped.ReferencedSymbol() : null;
    }

    /// <summary>The statement a call is the whole of (<c>await rt.DisposeAsync();</c>), for the fix to remove.</summary>
    private static IOperation? StatementOf(IInvocationOperation call) => call.ResultConsumer() as IExpressionStatementOperation;

    /// <summary>The client holders a <c>using</c> statement's resources declare or reference (<c>rt</c>, <c>rt.ConfigureAwait(false)</c>).</summary>
    private static IEnumerable<ISymbol> UsedClients(IOperation resources, DecartSymbols symbols)
    {
        if (resources is IVariableDeclarationGroupOperation group)
        {
            foreach (var declarator in group.Declarations.SelectMany(d => d.Declarators))
            {
                yield return declarator.Symbol;   // a client, or a copy of one (resolved by the caller)
            }

            yield break;
        }

        if (CopiedClient(resources, symbols) is { } referenced)
        {
            yield return referenced;
        }
    }

    /// <summary>DECART004 and DECART010: a client closed, then another connected with the same model in the same method.</summary>
    private static void CheckReconnects(System.Action<Diagnostic> report, List<IInvocationOperation> connects, List<Disposal> disposals)
    {
        var ordered = connects.OrderBy(c => c.Syntax.SpanStart).ToList();
        for (int i = 0; i < ordered.Count; i++)
        {
            var second = ordered[i];
            var secondModel = ModelOf(second);
            if (secondModel is null)
            {
                continue;
            }

            bool reported = false;
            for (int j = 0; j < i && !reported; j++)
            {
                var first = ordered[j];
                if (!SymbolEqualityComparer.Default.Equals(ModelOf(first), secondModel) || first.ResultHolder() is not { } client)
                {
                    continue;
                }

                foreach (var d in disposals)
                {
                    if (SymbolEqualityComparer.Default.Equals(d.Client, client) && d.End > first.Syntax.SpanStart && d.End <= second.Syntax.SpanStart)
                    {
                        report(Reconnect(first, second, client, d));
                        reported = true;
                        break;
                    }
                }
            }

            // One connect in a loop, closed within the same iteration: every iteration reconnects. A model that comes
            // from the loop (its variable, or a local of its body) is a model switch, which needs a new session.
            if (!reported && Enclosing<ILoopOperation>(second) is { } loop && second.ResultHolder() is { } holder
                && !DeclaredWithin(secondModel, loop.Syntax.Span))
            {
                foreach (var d in disposals)
                {
                    if (SymbolEqualityComparer.Default.Equals(d.Client, holder) && d.End > second.Syntax.SpanStart && d.End <= loop.Syntax.Span.End)
                    {
                        report(Diagnostic.Create(Descriptors.ReconnectToChangePrompt, second.Syntax.GetLocation(), holder.Name));
                        break;
                    }
                }
            }
        }
    }

    /// <summary>DECART010 when the reconnect switches the video source, else DECART004 (with what the fix needs).</summary>
    private static Diagnostic Reconnect(IInvocationOperation first, IInvocationOperation second, ISymbol client, Disposal disposal)
    {
        var firstSource = first.Argument("source")?.Value;
        var secondSource = second.Argument("source")?.Value;
        bool sameSource = firstSource is not null && secondSource is not null
            && (firstSource.ReferencedSymbol() is { } a && SymbolEqualityComparer.Default.Equals(a, secondSource.ReferencedSymbol())
                || firstSource.Syntax.ToString() == secondSource.Syntax.ToString());
        if (!sameSource)
        {
            return Diagnostic.Create(Descriptors.ReconnectToSwitchSource, second.Syntax.GetLocation(), client.Name);
        }

        var properties = ImmutableDictionary<string, string?>.Empty.Add(FirstClientKey, client.Name);
        var extra = disposal.Statement is { } statement ? new[] { statement.Syntax.GetLocation() } : null;
        return Diagnostic.Create(Descriptors.ReconnectToChangePrompt, second.Syntax.GetLocation(), extra, properties, client.Name);
    }

    private static T? Enclosing<T>(IOperation operation)
        where T : class, IOperation
    {
        for (var o = operation.Parent; o is not null; o = o.Parent)
        {
            if (o is T found)
            {
                return found;
            }

            if (o is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                return null;
            }
        }

        return null;
    }

    private static bool DeclaredWithin(ISymbol symbol, Microsoft.CodeAnalysis.Text.TextSpan span) =>
        symbol is ILocalSymbol && symbol.Locations.Any(l => l.IsInSource && span.Contains(l.SourceSpan));

    /// <summary>DECART006.</summary>
    private static void CheckFormats(System.Action<Diagnostic> report, List<IInvocationOperation> connects, IReadOnlyList<IOperation> formats)
    {
        var models = connects.Select(CatalogModel).Where(m => m is not null).Select(m => m!.Value).Distinct().ToList();
        if (models.Count != 1 || formats.Count == 0)
        {
            return; // no catalog model, or several: nothing to compare against
        }

        var (name, expression) = models[0];
        var expected = Catalog[name];
        foreach (var operation in formats)
        {
            foreach (var (member, value) in Literals(operation))
            {
                int want = member switch { "Width" => expected.Width, "Height" => expected.Height, _ => expected.Fps };
                if (value.ConstantValue is { HasValue: true, Value: int got } && got != want)
                {
                    var properties = ImmutableDictionary<string, string?>.Empty.Add(ModelKey, expression).Add(MemberKey, member);
                    report(Diagnostic.Create(Descriptors.FormatDiffersFromModel, value.Syntax.GetLocation(), properties, member, got, expression, want));
                }
            }
        }
    }

    /// <summary>The literal width/height/fps values a format-setting operation carries.</summary>
    private static IEnumerable<(string Member, IOperation Value)> Literals(IOperation operation)
    {
        switch (operation)
        {
            case IObjectCreationOperation { Type.Name: "VideoFormat" } format:
                foreach (var argument in format.Arguments)
                {
                    if (argument.Parameter?.Name is "Width" or "Height" or "Fps" && argument.ArgumentKind != ArgumentKind.DefaultValue)
                    {
                        yield return (argument.Parameter.Name, argument.Value);
                    }
                }

                break;
            case IObjectCreationOperation encoder:
                foreach (var member in new[] { "Width", "Height", "Fps" })
                {
                    if (encoder.InitializerValue(member) is { } value)
                    {
                        yield return (member, value);
                    }
                }

                break;
            case IInvocationOperation open when open.Argument("fps")?.Value.Unwrap() is { } fps && fps.IsGiven():
                yield return ("Fps", fps);
                break;
        }
    }

    /// <summary>The catalog property a connect's options name (<c>Model = RealtimeModels.X</c>), with its source text.</summary>
    private static (string Name, string Expression)? CatalogModel(IInvocationOperation connect) =>
        ModelOperation(connect) is IPropertyReferenceOperation { Property: { IsStatic: true, ContainingType.Name: "RealtimeModels" } property } reference
        && Catalog.ContainsKey(property.Name)
            ? (property.Name, reference.Syntax.ToString())
            : null;

    private static IOperation? ModelOperation(IInvocationOperation connect) =>
        connect.Argument("options")?.Value.Unwrap() is IObjectCreationOperation options ? options.InitializerValue("Model")?.Unwrap() : null;

    /// <summary>What identifies the model of a connect: the model member or local it names, or the options local reused.</summary>
    private static ISymbol? ModelOf(IInvocationOperation connect) =>
        ModelOperation(connect).ReferencedSymbol() ?? connect.Argument("options")?.Value.ReferencedSymbol();
}
