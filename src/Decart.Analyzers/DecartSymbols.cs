using System;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace Decart.Analyzers;

/// <summary>
/// The SDK's types, resolved once per compilation. <see cref="TryCreate"/> resolves them at once (a rule used on its
/// own); <see cref="Deferred"/> (the shipped <see cref="DecartRules"/>) resolves them when a rule first looks at
/// something — the first operation it asked for, or the first type (DECART001's field check). Asking a compilation
/// for a symbol at compilation start makes it bind its references there and then (~0.13 s in a 1,000-file project,
/// charged to whoever asks first — work the compiler does anyway before it declares a type or binds a method, by when
/// the rules first need one): bench/README.md, "Analyzer cost". When the types are missing, reading one throws:
/// callers check <see cref="IsAvailable"/> first.
/// </summary>
internal sealed class DecartSymbols
{
    /// <summary>The SDK's assembly name: its types are looked up there only.</summary>
    private const string SdkAssemblyName = "Decart.Sdk";

    private readonly Lazy<Types?> _types;

    private DecartSymbols(Compilation compilation) =>
        _types = new Lazy<Types?>(() => Types.Resolve(compilation), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Whether the compilation has the SDK's types (resolves them on first use).</summary>
    public bool IsAvailable => _types.Value is not null;

    /// <summary><c>Decart.Sdk.Realtime.SetImageOptions</c>.</summary>
    public INamedTypeSymbol? SetImageOptions => Resolved.SetImageOptions;

    /// <summary><c>Decart.Sdk.Realtime.RealtimeClient</c>.</summary>
    public INamedTypeSymbol RealtimeClient => Resolved.RealtimeClient;

    /// <summary><c>Decart.Sdk.Realtime.RealtimeApi</c>.</summary>
    public INamedTypeSymbol RealtimeApi => Resolved.RealtimeApi;

    /// <summary><c>Decart.Sdk.Realtime.RealtimeConnectOptions</c>.</summary>
    public INamedTypeSymbol? ConnectOptions => Resolved.ConnectOptions;

    /// <summary><c>Decart.Sdk.Realtime.RealtimeState</c>.</summary>
    public INamedTypeSymbol? RealtimeState => Resolved.RealtimeState;

    /// <summary><c>Decart.Sdk.DecartClientOptions</c>.</summary>
    public INamedTypeSymbol? ClientOptions => Resolved.ClientOptions;

    /// <summary><c>Decart.Sdk.Models.RealtimeModel</c>.</summary>
    public INamedTypeSymbol? RealtimeModel => Resolved.RealtimeModel;

    /// <summary><c>Decart.Sdk.Models.RealtimeModels</c>.</summary>
    public INamedTypeSymbol? RealtimeModels => Resolved.RealtimeModels;

    /// <summary><c>Decart.Sdk.Media.VideoFormat</c>.</summary>
    public INamedTypeSymbol? VideoFormat => Resolved.VideoFormat;

    /// <summary><c>Decart.Sdk.Http.TokensClient</c>.</summary>
    public INamedTypeSymbol? TokensClient => Resolved.TokensClient;

    /// <summary>The video sources a user makes and must stop (DECART014): raw, synthetic, IVF file and ffmpeg sources.</summary>
    public ImmutableHashSet<INamedTypeSymbol> StoppableSources => Resolved.StoppableSources;

    private Types Resolved => _types.Value ?? throw new InvalidOperationException("The compilation does not have the Decart SDK's types.");

    /// <summary>The SDK's types resolved now; null when the compilation does not reference the SDK.</summary>
    public static DecartSymbols? TryCreate(Compilation compilation)
    {
        var symbols = new DecartSymbols(compilation);
        return symbols.IsAvailable ? symbols : null;
    }

    /// <summary>
    /// The SDK's types, resolved on first use (<see cref="IsAvailable"/> says whether the compilation has them). Nothing
    /// is asked of the compilation here: even its reference list cannot rule the SDK out cheaply (a renamed file, an
    /// in-memory image, a script's <c>#r</c>, the SDK's sources built into another assembly).
    /// </summary>
    public static DecartSymbols Deferred(Compilation compilation) => new(compilation);

    /// <summary>Whether a method is <c>RealtimeApi.ConnectAsync</c>.</summary>
    public bool IsConnect(IMethodSymbol method) => method.Name == "ConnectAsync" && SymbolEqualityComparer.Default.Equals(method.ContainingType, RealtimeApi);

    /// <summary>Whether a method is a <c>RealtimeClient</c> method of that name.</summary>
    public bool IsClientMethod(IMethodSymbol method, string name) => method.Name == name && SymbolEqualityComparer.Default.Equals(method.ContainingType, RealtimeClient);

    /// <summary>The calls that end a client's session.</summary>
    public static bool IsDisposeName(string name) => name is "DisposeAsync" or "DisconnectAsync" or "Dispose";

    /// <summary>Whether a type is the realtime client.</summary>
    public bool IsClient(ITypeSymbol? type) => SymbolEqualityComparer.Default.Equals(type, RealtimeClient);

    /// <summary>The resolved types.</summary>
    private sealed class Types
    {
        private Types(IAssemblySymbol sdk, INamedTypeSymbol client, INamedTypeSymbol api)
        {
            RealtimeClient = client;
            RealtimeApi = api;
            ConnectOptions = sdk.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeConnectOptions");
            RealtimeState = sdk.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeState");
            ClientOptions = sdk.GetTypeByMetadataName("Decart.Sdk.DecartClientOptions");
            RealtimeModel = sdk.GetTypeByMetadataName("Decart.Sdk.Models.RealtimeModel");
            RealtimeModels = sdk.GetTypeByMetadataName("Decart.Sdk.Models.RealtimeModels");
            VideoFormat = sdk.GetTypeByMetadataName("Decart.Sdk.Media.VideoFormat");
            SetImageOptions = sdk.GetTypeByMetadataName("Decart.Sdk.Realtime.SetImageOptions");
            TokensClient = sdk.GetTypeByMetadataName("Decart.Sdk.Http.TokensClient");
            StoppableSources = new[] { "RawVideoSource", "SyntheticVideoSource", "IvfFileSource", "Ffmpeg.FfmpegVideoSource" }
                .Select(n => sdk.GetTypeByMetadataName("Decart.Sdk.Media." + n))
                .OfType<INamedTypeSymbol>()
                .ToImmutableHashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
        }

        public INamedTypeSymbol RealtimeClient { get; }

        public INamedTypeSymbol RealtimeApi { get; }

        public INamedTypeSymbol? SetImageOptions { get; }

        public INamedTypeSymbol? ConnectOptions { get; }

        public INamedTypeSymbol? RealtimeState { get; }

        public INamedTypeSymbol? ClientOptions { get; }

        public INamedTypeSymbol? RealtimeModel { get; }

        public INamedTypeSymbol? RealtimeModels { get; }

        public INamedTypeSymbol? VideoFormat { get; }

        public INamedTypeSymbol? TokensClient { get; }

        public ImmutableHashSet<INamedTypeSymbol> StoppableSources { get; }

        /// <summary>
        /// The types from the one assembly named <c>Decart.Sdk</c> (the compilation itself or a reference), looked up
        /// there only: <see cref="Compilation.GetTypeByMetadataName"/> searches every reference, the framework's too.
        /// With no such assembly, or two, the compilation-wide lookup decides (the SDK's sources built into another
        /// assembly; two versions referenced, where it finds none, as the compiler would call the types ambiguous).
        /// </summary>
        public static Types? Resolve(Compilation compilation)
        {
            var named = compilation.Assembly.Identity.Name == SdkAssemblyName
                ? [compilation.Assembly]
                : compilation.SourceModule.ReferencedAssemblySymbols.Where(a => a.Identity.Name == SdkAssemblyName).Take(2).ToArray();
            if (named.Length != 1)
            {
                var found = compilation.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeClient");
                var foundApi = compilation.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeApi");
                return found is null || foundApi is null ? null : new Types(found.ContainingAssembly, found, foundApi);
            }

            var sdk = named[0];
            var client = sdk.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeClient");
            var api = sdk.GetTypeByMetadataName("Decart.Sdk.Realtime.RealtimeApi");
            return client is null || api is null ? null : new Types(sdk, client, api);
        }
    }
}
