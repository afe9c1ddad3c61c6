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

/// <summary>DECART001: <c>var client = await …ConnectAsync(…);</c> → <c>await using var client = …;</c>.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AwaitUsingFix)), Shared]
public sealed class AwaitUsingFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create("DECART001");

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
        ExpressionSyntax awaited = AwaitExpression(call);
        return ExpressionStatement(awaited).WithTriviaFrom(first).WithAdditionalAnnotations(Formatter.Annotation);

        static ExpressionSyntax Assign(string name, ExpressionSyntax value) =>
            AssignmentExpression(SyntaxKind.SimpleAssignmentExpression, IdentifierName(name), value.WithoutTrivia());
    }

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
