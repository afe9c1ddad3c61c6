using Microsoft.CodeAnalysis;

namespace Decart.Analyzers;

/// <summary>The SDK's types, resolved once per compilation; null when the compilation does not reference the SDK.</summary>
internal sealed class DecartSymbols
{
    private DecartSymbols(Compilation compilation, INamedTypeSymbol client, INamedTypeSymbol api)
    {
        RealtimeClient = client;
        RealtimeApi = api;
        ConnectOptions = compilation.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeConnectOptions");
        RealtimeState = compilation.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeState");
        ClientOptions = compilation.GetTypeByMetadataName("Decart.Sdk.DecartClientOptions");
        RealtimeModel = compilation.GetTypeByMetadataName("Decart.Sdk.Models.RealtimeModel");
        RealtimeModels = compilation.GetTypeByMetadataName("Decart.Sdk.Models.RealtimeModels");
        VideoFormat = compilation.GetTypeByMetadataName("Decart.Sdk.Media.VideoFormat");
        SetImageOptions = compilation.GetTypeByMetadataName("Decart.Sdk.Realtime.SetImageOptions");
    }

    public INamedTypeSymbol? SetImageOptions { get; }

    public INamedTypeSymbol RealtimeClient { get; }

    public INamedTypeSymbol RealtimeApi { get; }

    public INamedTypeSymbol? ConnectOptions { get; }

    public INamedTypeSymbol? RealtimeState { get; }

    public INamedTypeSymbol? ClientOptions { get; }

    public INamedTypeSymbol? RealtimeModel { get; }

    public INamedTypeSymbol? RealtimeModels { get; }

    public INamedTypeSymbol? VideoFormat { get; }

    public static DecartSymbols? TryCreate(Compilation compilation)
    {
        var client = compilation.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeClient");
        var api = compilation.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeApi");
        return client is null || api is null ? null : new DecartSymbols(compilation, client, api);
    }

    /// <summary>Whether a method is <c>RealtimeApi.ConnectAsync</c>.</summary>
    public bool IsConnect(IMethodSymbol method) => method.Name == "ConnectAsync" && SymbolEqualityComparer.Default.Equals(method.ContainingType, RealtimeApi);

    /// <summary>Whether a method is a <c>RealtimeClient</c> method of that name.</summary>
    public bool IsClientMethod(IMethodSymbol method, string name) => method.Name == name && SymbolEqualityComparer.Default.Equals(method.ContainingType, RealtimeClient);

    /// <summary>The calls that end a client's session.</summary>
    public static bool IsDisposeName(string name) => name is "DisposeAsync" or "DisconnectAsync" or "Dispose";

    /// <summary>Whether a type is the realtime client.</summary>
    public bool IsClient(ITypeSymbol? type) => SymbolEqualityComparer.Default.Equals(type, RealtimeClient);
}
