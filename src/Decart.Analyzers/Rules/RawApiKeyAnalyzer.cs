using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Decart.Analyzers.Rules;

/// <summary>
/// DECART002: a literal API key (a literal, a const, concatenation or interpolation of literals, or a local
/// initialized with one and never reassigned) flowing into <c>DecartClientOptions.ApiKey</c>. An error in projects
/// that run on the user's device.
/// </summary>
public sealed class RawApiKeyAnalyzer : DecartAnalyzer
{
    /// <summary>Property key marking a diagnostic whose value is a literal the fix can replace.</summary>
    public const string ReplaceableKey = "Replaceable";

    private const string DeviceHint = "; this project runs on the user's device, where a permanent key must never ship: have your server mint a short-lived client token (client.Tokens.CreateAsync) and use that";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Descriptors.RawApiKey, Descriptors.TokenMintedOnDevice);

    /// <inheritdoc />
    private protected override void OnCompilationStart(RuleActions start, DecartSymbols symbols)
    {
        // DecartClientOptions.ApiKey is the SDK's one way in for a key: no public method or constructor takes one (a
        // test in Decart.Analyzers.Tests fails when that changes, so the new sink is added here). Searching the SDK
        // for such parameters on every compilation cost a build ~70 ms (bench/README.md, "Analyzer cost").
        start.RegisterOperationAction(
            c =>
            {
                var assignment = (ISimpleAssignmentOperation)c.Operation;
                if (assignment.Target is IPropertyReferenceOperation { Property: { Name: "ApiKey" } property }
                    && SymbolEqualityComparer.Default.Equals(property.ContainingType, symbols.ClientOptions)
                    && !GoesElsewhere(assignment))
                {
                    Check(c, assignment.Value, "DecartClientOptions.ApiKey");
                }
            },
            ["ApiKey"],
            OperationKind.SimpleAssignment);

        // DECART013: on the user's device, minting a token means holding the permanent key.
        start.RegisterOperationAction(
            c =>
            {
                var call = (IInvocationOperation)c.Operation;
                if (call.TargetMethod.Name == "CreateAsync" && symbols.TokensClient is { } tokens
                    && SymbolEqualityComparer.Default.Equals(call.TargetMethod.ContainingType, tokens)
                    && RunsOnDevice(c.Options.AnalyzerConfigOptionsProvider, call.Syntax.SyntaxTree))
                {
                    c.ReportDiagnostic(Diagnostic.Create(Descriptors.TokenMintedOnDevice, call.Syntax.GetLocation()));
                }
            },
            ["CreateAsync"],
            OperationKind.Invocation);
    }

    /// <summary>
    /// Whether the key goes to a server other than Decart's: the same options initializer sets <c>BaseUrl</c> to
    /// something other than Decart's (a simulator's <c>sim.BaseUrl</c>, a fake). A placeholder key for a local fake is
    /// no secret; a key sent to Decart is.
    /// </summary>
    private static bool GoesElsewhere(ISimpleAssignmentOperation assignment)
    {
        if (assignment.Parent is not IObjectOrCollectionInitializerOperation initializer)
        {
            return false;
        }

        foreach (var member in initializer.Initializers)
        {
            if (member is ISimpleAssignmentOperation { Target: IPropertyReferenceOperation { Property.Name: "BaseUrl" } } baseUrl)
            {
                var value = baseUrl.Value.Unwrap();
                bool decart = value is IFieldReferenceOperation { Field.Name: "DefaultBaseUrl" }
                    || value is IObjectCreationOperation creation && creation.Arguments.Any(a => a.Value.ConstantString()?.IndexOf("decart.ai", StringComparison.OrdinalIgnoreCase) >= 0)
                    || value.ConstantString()?.IndexOf("decart.ai", StringComparison.OrdinalIgnoreCase) >= 0;
                return !decart;
            }
        }

        return false;
    }

    private static void Check(OperationAnalysisContext context, IOperation value, string sink)
    {
        var unwrapped = value.Unwrap();

        // "Environment.GetEnvironmentVariable(...) ?? "sk_…"": the fallback is a key in source; it is what is reported.
        bool fallback = false;
        while (unwrapped is ICoalesceOperation coalesce)
        {
            value = coalesce.WhenNull;
            unwrapped = value.Unwrap();
            fallback = true;
        }

        string? literal = unwrapped.ConstantString() ?? LiteralLocal(unwrapped, context.CancellationToken) ?? LiteralField(unwrapped, context.CancellationToken);
        if (string.IsNullOrWhiteSpace(literal))
        {
            return;
        }

        bool device = RunsOnDevice(context.Options.AnalyzerConfigOptionsProvider, value.Syntax.SyntaxTree);
        var properties = ImmutableDictionary<string, string?>.Empty;
        if (!fallback && unwrapped.Syntax is LiteralExpressionSyntax or InterpolatedStringExpressionSyntax or BinaryExpressionSyntax)
        {
            properties = properties.Add(ReplaceableKey, "true");
        }

        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.RawApiKey,
            value.Syntax.GetLocation(),
            device ? DiagnosticSeverity.Error : Descriptors.RawApiKey.DefaultSeverity,
            additionalLocations: null,
            properties,
            sink,
            device ? DeviceHint : string.Empty));
    }

    /// <summary>The literal a <c>readonly</c> field (static or not) is initialized with.</summary>
    private static string? LiteralField(IOperation operation, System.Threading.CancellationToken cancellationToken)
    {
        if (operation is not IFieldReferenceOperation { Field: { IsReadOnly: true } field })
        {
            return null;
        }

        return field.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is VariableDeclaratorSyntax { Initializer.Value: LiteralExpressionSyntax literal }
            && literal.IsKind(SyntaxKind.StringLiteralExpression)
            ? literal.Token.ValueText
            : null;
    }

    /// <summary>The literal a local was initialized with, when it is never assigned again.</summary>
    private static string? LiteralLocal(IOperation operation, System.Threading.CancellationToken cancellationToken)
    {
        if (operation is not ILocalReferenceOperation { Local: var local } || operation.SemanticModel is not { } model)
        {
            return null;
        }

        if (local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is not VariableDeclaratorSyntax { Initializer.Value: { } initializer } declarator)
        {
            return null;
        }

        if (model.GetConstantValue(initializer, cancellationToken) is not { HasValue: true, Value: string text })
        {
            return null;
        }

        var scope = declarator.FirstAncestorOrSelf<BlockSyntax>() ?? (SyntaxNode?)declarator.FirstAncestorOrSelf<MemberDeclarationSyntax>();
        bool reassigned = scope?.DescendantNodes().Any(n =>
            (n is AssignmentExpressionSyntax assignment && IsLocal(assignment.Left)) ||
            (n is ArgumentSyntax { RefKindKeyword.RawKind: not 0 } argument && IsLocal(argument.Expression))) == true;
        return reassigned ? null : text;

        bool IsLocal(ExpressionSyntax expression) =>
            expression is IdentifierNameSyntax name && name.Identifier.ValueText == local.Name
            && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, local);
    }

    /// <summary>Blazor WebAssembly, MAUI/mobile targets, or an explicit opt-in (MSBuild <c>DecartClientSide</c> or .editorconfig <c>decart_client_side</c>).</summary>
    private static bool RunsOnDevice(AnalyzerConfigOptionsProvider provider, SyntaxTree tree)
    {
        var global = provider.GlobalOptions;
        var local = provider.GetOptions(tree);
        bool Is(string key) =>
            (global.TryGetValue(key, out var v) || local.TryGetValue(key, out v)) && string.Equals(v?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

        if (Is("build_property.DecartClientSide") || Is("decart_client_side") || Is("build_property.UseMaui") || Is("build_property.UsingMicrosoftNETSdkBlazorWebAssembly"))
        {
            return true;
        }

        return global.TryGetValue("build_property.TargetPlatformIdentifier", out var platform)
            && platform?.Trim().ToLowerInvariant() is "android" or "ios" or "maccatalyst" or "browser" or "tizen";
    }
}
