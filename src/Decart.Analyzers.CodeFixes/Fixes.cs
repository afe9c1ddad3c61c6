using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Simplification;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace Decart.Analyzers.CodeFixes;

/// <summary>
/// DECART001 and DECART014: <c>var client = await …ConnectAsync(…);</c> → <c>await using var client = …;</c>, and the
/// same for a video source.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AwaitUsingFix)), Shared]
public sealed class AwaitUsingFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART001", "DECART014");

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var declarator = root?.FindNode(context.Span, getInnermostNodeForTie: true).FirstAncestorOrSelf<VariableDeclaratorSyntax>();
        if (declarator?.Parent?.Parent is not LocalDeclarationStatementSyntax statement || statement.UsingKeyword.RawKind != 0 || statement.Declaration.Variables.Count != 1)
        {
            return;
        }

        context.RegisterCodeFix(
            CodeAction.Create("Use 'await using'", ct => AddAwaitUsingAsync(context.Document, statement, ct), nameof(AwaitUsingFix)),
            context.Diagnostics);
    }

    private static async Task<Document> AddAwaitUsingAsync(Document document, LocalDeclarationStatementSyntax statement, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var updated = statement
            .WithAwaitKeyword(Token(statement.GetLeadingTrivia(), SyntaxKind.AwaitKeyword, TriviaList(Space)))
            .WithUsingKeyword(Token(TriviaList(), SyntaxKind.UsingKeyword, TriviaList(Space)))
            .WithModifiers(statement.Modifiers.Count > 0 ? statement.Modifiers : default);
        updated = updated.WithDeclaration(updated.Declaration.WithLeadingTrivia(TriviaList()));
        return document.WithSyntaxRoot(root!.ReplaceNode(statement, updated));
    }
}

/// <summary>The shape of the fixes that replace the flagged expression with another (DECART002, DECART006).</summary>
public abstract class ReplaceExpressionFix : CodeFixProvider
{
    /// <inheritdoc />
    public sealed override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public sealed override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is not ExpressionSyntax flagged
                || Replacement(diagnostic) is not { } replacement)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(replacement.Title, async ct =>
                {
                    var currentRoot = await context.Document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
                    return context.Document.WithSyntaxRoot(currentRoot!.ReplaceNode(flagged, replacement.Expression.WithTriviaFrom(flagged)));
                }, GetType().Name),
                diagnostic);
        }
    }

    /// <summary>What replaces the flagged expression, with the fix's title; null when this diagnostic cannot be fixed.</summary>
    /// <param name="diagnostic">The diagnostic.</param>
    /// <returns>The replacement, or null.</returns>
    private protected abstract (string Title, ExpressionSyntax Expression)? Replacement(Diagnostic diagnostic);
}

/// <summary>DECART002: a literal key → <c>Environment.GetEnvironmentVariable("DECART_API_KEY")</c>.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(KeyFromEnvironmentFix)), Shared]
public sealed class KeyFromEnvironmentFix : ReplaceExpressionFix
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART002");

    /// <inheritdoc />
    private protected override (string Title, ExpressionSyntax Expression)? Replacement(Diagnostic diagnostic)
    {
        if (!diagnostic.Properties.ContainsKey("Replaceable"))
        {
            return null;
        }

        var environment = ParseExpression("global::System.Environment").WithAdditionalAnnotations(Simplifier.Annotation);
        return ("Read the key from DECART_API_KEY", InvocationExpression(
            MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, environment, IdentifierName("GetEnvironmentVariable")),
            ArgumentList(SingletonSeparatedList(Argument(LiteralExpression(SyntaxKind.StringLiteralExpression, Literal("DECART_API_KEY")))))));
    }
}

/// <summary>DECART003: SetPromptAsync + SetImageAsync → one <c>SetAsync(new RealtimeState { Prompt, Image, Enhance })</c>.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MergeIntoSetFix)), Shared]
public sealed class MergeIntoSetFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART003");

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (diagnostic.AdditionalLocations.Count != 1 || root is null || model is null)
            {
                continue;
            }

            var second = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<StatementSyntax>();
            var first = root.FindNode(diagnostic.AdditionalLocations[0].SourceSpan).FirstAncestorOrSelf<StatementSyntax>();
            if (first is null || second is null || Merge(first, second, model, context.CancellationToken) is not { } merged)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create("Merge into one SetAsync", async ct =>
                {
                    var currentRoot = await context.Document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
                    var tracked = currentRoot!.TrackNodes(first, second);
                    tracked = tracked.ReplaceNode(tracked.GetCurrentNode(first)!, merged);
                    tracked = tracked.RemoveNode(tracked.GetCurrentNode(second)!, SyntaxRemoveOptions.KeepNoTrivia)!;
                    return context.Document.WithSyntaxRoot(tracked);
                }, nameof(MergeIntoSetFix)),
                diagnostic);
        }
    }

    /// <summary>The merged statement, or null when the calls cannot be merged faithfully (e.g. image options with their own prompt).</summary>
    private static StatementSyntax? Merge(StatementSyntax first, StatementSyntax second, SemanticModel model, CancellationToken cancellationToken)
    {
        var a = Call(first, model, cancellationToken);
        var b = Call(second, model, cancellationToken);
        if (a is null || b is null)
        {
            return null;
        }

        var prompt = a.TargetMethod.Name == "SetPromptAsync" ? a : b;
        var image = a.TargetMethod.Name == "SetImageAsync" ? a : b;
        if (image.Arguments.Any(x => x.Parameter?.Name == "options" && x.ArgumentKind != ArgumentKind.DefaultValue) || prompt.Instance?.Syntax is not ExpressionSyntax receiver)
        {
            return null;
        }

        ExpressionSyntax? Arg(IInvocationOperation call, string name) =>
            call.Arguments.FirstOrDefault(x => x.Parameter?.Name == name && x.ArgumentKind != ArgumentKind.DefaultValue)?.Value.Syntax as ExpressionSyntax;

        var initializers = SeparatedList<ExpressionSyntax>(new[]
        {
            Assign("Prompt", Arg(prompt, "prompt")!),
            Assign("Image", Arg(image, "image")!),
        }.Concat(Arg(prompt, "enhance") is { } enhance ? new[] { Assign("Enhance", enhance) } : []));
        var state = ObjectCreationExpression(ParseTypeName("global::Decart.Sdk.Realtime.RealtimeState").WithAdditionalAnnotations(Simplifier.Annotation))
            .WithArgumentList(null)
            .WithInitializer(InitializerExpression(SyntaxKind.ObjectInitializerExpression, initializers));
        var arguments = new[] { Argument(state) }.ToList();
        if ((Arg(prompt, "cancellationToken") ?? Arg(image, "cancellationToken")) is { } token)
        {
            arguments.Add(Argument(token));
        }

        var call = InvocationExpression(MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, receiver.WithoutTrivia(), IdentifierName("SetAsync")), ArgumentList(SeparatedList(arguments)));
        // `.ConfigureAwait(false)` on either call stays on the merged one (a library's await must not capture the context).
        ExpressionSyntax awaited = (ConfigureAwaitArguments(first) ?? ConfigureAwaitArguments(second)) is { } configure
            ? AwaitExpression(InvocationExpression(MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, call, IdentifierName("ConfigureAwait")), configure.WithoutTrivia()))
            : AwaitExpression(call);
        return ExpressionStatement(awaited).WithTriviaFrom(first).WithAdditionalAnnotations(Formatter.Annotation);

        static ExpressionSyntax Assign(string name, ExpressionSyntax value) =>
            AssignmentExpression(SyntaxKind.SimpleAssignmentExpression, IdentifierName(name), value.WithoutTrivia());
    }

    private static ArgumentListSyntax? ConfigureAwaitArguments(StatementSyntax statement) =>
        statement is ExpressionStatementSyntax { Expression: AwaitExpressionSyntax { Expression: InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ConfigureAwait" } } configured } }
            ? configured.ArgumentList
            : null;

    private static IInvocationOperation? Call(StatementSyntax statement, SemanticModel model, CancellationToken cancellationToken)
    {
        if (statement is not ExpressionStatementSyntax { Expression: AwaitExpressionSyntax awaited })
        {
            return null;
        }

        var expression = awaited.Expression;
        if (expression is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ConfigureAwait", Expression: var inner } })
        {
            expression = inner;
        }

        return model.GetOperation(expression, cancellationToken) as IInvocationOperation;
    }
}

/// <summary>DECART008: remove <c>enhance: false</c> / <c>Enhance = false</c>.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(KeepEnhancementFix)), Shared]
public sealed class KeepEnhancementFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART008");

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var node = root?.FindNode(context.Span, getInnermostNodeForTie: true);
        // The nearest of the two: `enhance: false` as an argument, or `Enhance = false` in an initializer.
        SyntaxNode? argument = node?.FirstAncestorOrSelf<ArgumentSyntax>();
        SyntaxNode? assignment = node?.FirstAncestorOrSelf<AssignmentExpressionSyntax>();
        var target = argument is null ? assignment : assignment is null ? argument : argument.Span.Length <= assignment.Span.Length ? argument : assignment;
        if (target is null)
        {
            return;
        }

        context.RegisterCodeFix(
            CodeAction.Create("Keep prompt enhancement on", async ct =>
            {
                var currentRoot = await context.Document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
                var parent = target.Parent!;
                // A positional `false` with arguments after it cannot go (they would shift into its place): it becomes `true`.
                if (target is ArgumentSyntax { NameColon: null } positional && parent is ArgumentListSyntax list && list.Arguments.IndexOf(positional) < list.Arguments.Count - 1)
                {
                    return context.Document.WithSyntaxRoot(currentRoot!.ReplaceNode(positional.Expression, LiteralExpression(SyntaxKind.TrueLiteralExpression).WithTriviaFrom(positional.Expression)));
                }

                var updated = parent.RemoveNode(target, SyntaxRemoveOptions.KeepNoTrivia)!.WithAdditionalAnnotations(Formatter.Annotation);
                return context.Document.WithSyntaxRoot(currentRoot!.ReplaceNode(parent, updated));
            }, nameof(KeepEnhancementFix)),
            context.Diagnostics);
    }
}

/// <summary>DECART006: a literal size or rate → the model's own (<c>RealtimeModels.Lucy21.Width</c>).</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UseModelFormatFix)), Shared]
public sealed class UseModelFormatFix : ReplaceExpressionFix
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART006");

    /// <inheritdoc />
    private protected override (string Title, ExpressionSyntax Expression)? Replacement(Diagnostic diagnostic) =>
        diagnostic.Properties.TryGetValue("Model", out var model) && diagnostic.Properties.TryGetValue("Member", out var member) && model is not null && member is not null
            ? ($"Use {model}.{member}", ParseExpression($"{model}.{member}"))
            : null;
}

/// <summary>DECART012: <c>Mirror = MirrorMode.On</c> → <c>MirrorMode.Auto</c>.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MirrorAutoFix)), Shared]
public sealed class MirrorAutoFix : ReplaceExpressionFix
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART012");

    /// <inheritdoc />
    private protected override (string Title, ExpressionSyntax Expression)? Replacement(Diagnostic diagnostic) =>
        ("Use MirrorMode.Auto", ParseExpression("global::Decart.Sdk.Realtime.MirrorMode.Auto").WithAdditionalAnnotations(Simplifier.Annotation));
}

/// <summary>
/// DECART005 and DECART011: add the missing handler to options written in place — <c>OnError</c> that writes the
/// error's code and message, <c>OnConnectionChanged</c> that writes the state — for the user to replace with their UI.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddHandlerFix)), Shared]
public sealed class AddHandlerFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART005", "DECART011");

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.ContainsKey("InPlace")
                || root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)?.FirstAncestorOrSelf<BaseObjectCreationExpressionSyntax>() is not { } creation)
            {
                continue;
            }

            bool error = diagnostic.Id == "DECART005";
            string member = error
                ? "OnError = error => global::System.Console.Error.WriteLine($\"Decart error {error.CodeString}: {error.Message}\")"
                : "OnConnectionChanged = state => global::System.Console.WriteLine($\"Decart connection: {state}\")";
            context.RegisterCodeFix(
                CodeAction.Create(error ? "Add an OnError handler" : "Add an OnConnectionChanged handler", async ct =>
                {
                    var currentRoot = await context.Document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
                    var parsed = ParseExpression(member);
                    var assignment = parsed.ReplaceNodes(
                        parsed.DescendantNodes().OfType<MemberAccessExpressionSyntax>().Where(m => m.Expression is AliasQualifiedNameSyntax),
                        (_, node) => node.WithAdditionalAnnotations(Simplifier.Annotation)).WithAdditionalAnnotations(Formatter.Annotation);
                    var initializer = creation.Initializer ?? InitializerExpression(SyntaxKind.ObjectInitializerExpression);
                    var updated = creation.WithInitializer(initializer.AddExpressions(assignment)).WithAdditionalAnnotations(Formatter.Annotation);
                    return context.Document.WithSyntaxRoot(currentRoot!.ReplaceNode(creation, updated));
                }, nameof(AddHandlerFix) + diagnostic.Id),
                diagnostic);
        }
    }
}

/// <summary>
/// DECART004: <c>await first.DisposeAsync(); [await using] var second = await …ConnectAsync(…, new … { InitialState = s });</c>
/// → <c>await first.SetAsync(s); [await using] var second = first;</c> — the open session takes the new state.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SetInsteadOfReconnectFix)), Shared]
public sealed class SetInsteadOfReconnectFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART004");

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            // Only the plain shape: the disposal is a statement of its own, the new session is declared from an
            // awaited connect whose options are written in place with an InitialState.
            if (!diagnostic.Properties.TryGetValue("FirstClient", out var first) || first is null || diagnostic.AdditionalLocations.Count == 0
                || root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)?.FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } connect
                || connect.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>() is not { Declaration.Variables.Count: 1 } declaration
                || root.FindNode(diagnostic.AdditionalLocations[0].SourceSpan) is not StatementSyntax disposal
                || connect.ArgumentList.Arguments.Select(a => a.Expression).OfType<BaseObjectCreationExpressionSyntax>().FirstOrDefault() is not { Initializer: { } options }
                || options.Expressions.OfType<AssignmentExpressionSyntax>().FirstOrDefault(a => a.Left is IdentifierNameSyntax { Identifier.ValueText: "InitialState" }) is not { } initial)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create($"Call {first}.SetAsync instead of reconnecting", async ct =>
                {
                    var currentRoot = await context.Document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
                    var set = ExpressionStatement(AwaitExpression(InvocationExpression(
                            MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, IdentifierName(first), IdentifierName("SetAsync")),
                            ArgumentList(SingletonSeparatedList(Argument(initial.Right.WithoutTrivia()))))))
                        .WithLeadingTrivia(declaration.GetLeadingTrivia())
                        .WithTrailingTrivia(declaration.GetTrailingTrivia());
                    var variable = declaration.Declaration.Variables[0];
                    var alias = declaration.WithDeclaration(declaration.Declaration.WithVariables(SingletonSeparatedList(
                        variable.WithInitializer(EqualsValueClause(IdentifierName(first)).WithLeadingTrivia(Space)))));
                    var tracked = currentRoot!.TrackNodes(disposal, declaration);
                    tracked = tracked.ReplaceNode(tracked.GetCurrentNode(declaration)!, new SyntaxNode[] { set, alias.WithLeadingTrivia(declaration.GetLeadingTrivia()) });
                    tracked = tracked.RemoveNode(tracked.GetCurrentNode(disposal)!, SyntaxRemoveOptions.KeepNoTrivia)!;
                    return context.Document.WithSyntaxRoot(tracked.WithAdditionalAnnotations(Formatter.Annotation));
                }, nameof(SetInsteadOfReconnectFix)),
                diagnostic);
        }
    }
}
