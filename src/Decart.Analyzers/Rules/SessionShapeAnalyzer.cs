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
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.ReconnectToChangePrompt, Descriptors.FormatDiffersFromModel);

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
                    var (connects, disposals) = Collect(call, symbols);
                    CheckReconnects(d => ReportIfInside(c, d), connects, disposals);
                }
                else if (IsFormat(call))
                {
                    CheckFormats(c.ReportDiagnostic, Collect(call, symbols).Connects, [call]);
                }
            },
            OperationKind.Invocation);
        start.RegisterOperationAction(
            c =>
            {
                if (IsFormat(c.Operation))
                {
                    CheckFormats(c.ReportDiagnostic, Collect(c.Operation, symbols).Connects, [c.Operation]);
                }
            },
            OperationKind.ObjectCreation);
    }

    private static bool IsFormat(IOperation operation) => operation is
        IInvocationOperation { TargetMethod.Name: "OpenAsync", TargetMethod.ContainingType.Name: "IvfFileSource" }
        or IObjectCreationOperation { Type.Name: "VideoFormat" or "Vp8EncoderOptions" };

    private static void ReportIfInside(OperationAnalysisContext context, Diagnostic diagnostic)
    {
        if (context.Operation.Syntax.Span.Contains(diagnostic.Location.SourceSpan))
        {
            context.ReportDiagnostic(diagnostic);
        }
    }

    /// <summary>
    /// The connects and client disposals of the method (or lambda-holding body) an operation belongs to: each disposal
    /// as the client it ends and where it ends it — an explicit <c>Dispose</c>/<c>DisposeAsync</c>/<c>DisconnectAsync</c>
    /// call, the end of a <c>using</c>/<c>await using</c> statement (also over <c>rt.ConfigureAwait(false)</c>), or the
    /// end of the block of a <c>using</c> declaration: every form DECART001 accepts.
    /// </summary>
    private static (List<IInvocationOperation> Connects, List<(ISymbol Client, int End)> Disposals) Collect(IOperation operation, DecartSymbols symbols)
    {
        var connects = new List<IInvocationOperation>();
        var disposals = new List<(ISymbol Client, int End)>();
        foreach (var descendant in operation.Root().DescendantsAndSelf())
        {
            switch (descendant)
            {
                case IInvocationOperation call when symbols.IsConnect(call.TargetMethod):
                    connects.Add(call);
                    break;
                case IInvocationOperation call when DecartSymbols.IsDisposeName(call.TargetMethod.Name) && symbols.IsClient(call.Instance?.Type) && call.Instance.ReferencedSymbol() is { } disposed:
                    disposals.Add((disposed, call.Syntax.SpanStart));
                    break;
                case IUsingOperation { Resources: { } resources } statement:
                    foreach (var client in UsedClients(resources, symbols))
                    {
                        disposals.Add((client, statement.Syntax.Span.End));
                    }

                    break;
                case IUsingDeclarationOperation { DeclarationGroup: { } group } declaration when declaration.Parent is IBlockOperation block:
                    foreach (var declarator in group.Declarations.SelectMany(d => d.Declarators))
                    {
                        if (symbols.IsClient(declarator.Symbol.Type))
                        {
                            disposals.Add((declarator.Symbol, block.Syntax.Span.End));
                        }
                    }

                    break;
            }
        }

        return (connects, disposals);
    }

    /// <summary>The client locals a <c>using</c> statement's resources declare or reference (<c>rt</c>, <c>rt.ConfigureAwait(false)</c>).</summary>
    private static IEnumerable<ISymbol> UsedClients(IOperation resources, DecartSymbols symbols)
    {
        if (resources is IVariableDeclarationGroupOperation group)
        {
            foreach (var declarator in group.Declarations.SelectMany(d => d.Declarators))
            {
                if (symbols.IsClient(declarator.Symbol.Type))
                {
                    yield return declarator.Symbol;
                }
            }

            yield break;
        }

        var value = resources.Unwrap();
        if (value is IInvocationOperation { TargetMethod.Name: "ConfigureAwait" } configured
            && (configured.Instance ?? (configured.Arguments.Length > 0 ? configured.Arguments[0].Value : null)) is { } receiver)
        {
            value = receiver.Unwrap(); // an instance method, or the IAsyncDisposable extension (receiver as the first argument)
        }

        if (symbols.IsClient(value.Type) && value.ReferencedSymbol() is { } referenced)
        {
            yield return referenced;
        }
    }

    /// <summary>DECART004.</summary>
    private static void CheckReconnects(System.Action<Diagnostic> report, List<IInvocationOperation> connects, List<(ISymbol Client, int End)> disposals)
    {
        var ordered = connects.OrderBy(c => c.Syntax.SpanStart).ToList();
        for (int i = 1; i < ordered.Count; i++)
        {
            var second = ordered[i];
            var secondModel = ModelOf(second);
            if (secondModel is null)
            {
                continue;
            }

            for (int j = 0; j < i; j++)
            {
                var first = ordered[j];
                if (!SymbolEqualityComparer.Default.Equals(ModelOf(first), secondModel) || ClientLocal(first) is not { } client)
                {
                    continue;
                }

                bool disconnected = disposals.Any(d =>
                    SymbolEqualityComparer.Default.Equals(d.Client, client)
                    && d.End > first.Syntax.SpanStart && d.End <= second.Syntax.SpanStart);
                if (disconnected)
                {
                    report(Diagnostic.Create(Descriptors.ReconnectToChangePrompt, second.Syntax.GetLocation(), client.Name));
                    break;
                }
            }
        }
    }

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
            case IInvocationOperation open when open.Argument("fps")?.Value.Unwrap() is { } fps && !(fps.ConstantValue.HasValue && fps.ConstantValue.Value is null):
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

    /// <summary>The local a connect's client is stored in.</summary>
    private static ILocalSymbol? ClientLocal(IInvocationOperation connect) => connect.ConnectResultConsumer() switch
    {
        IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
        ISimpleAssignmentOperation { Target: ILocalReferenceOperation local } => local.Local,
        _ => null,
    };
}
