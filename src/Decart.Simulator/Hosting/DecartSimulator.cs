using Decart.Simulator.Constraints;
using Decart.Simulator.Rest;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Hosting;

/// <summary>
/// A running simulator: a real Kestrel server on loopback speaking Decart's protocol. Start one in a test with
/// <c>await using var sim = await DecartSimulator.StartAsync(options)</c>; point the SDK at <see cref="BaseUrl"/>
/// and <see cref="RealtimeBaseUrl"/> with one of <see cref="ApiKeys"/>.
/// </summary>
public sealed class DecartSimulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private DecartSimulator(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
        RealtimeBaseUrl = new UriBuilder(baseUrl) { Scheme = "ws" }.Uri;
    }

    /// <summary>The REST base URL, e.g. <c>http://127.0.0.1:7777</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The realtime base URL, e.g. <c>ws://127.0.0.1:7777</c>.</summary>
    public Uri RealtimeBaseUrl { get; }

    /// <summary>The permanent API keys the simulator accepts.</summary>
    public IReadOnlyList<string> ApiKeys => Options.EffectiveKeys;

    /// <summary>The first accepted key.</summary>
    public string DefaultApiKey => ApiKeys[0];

    /// <summary>Issued client tokens.</summary>
    public TokenStore Tokens => Get<TokenStore>();

    /// <summary>Submitted jobs.</summary>
    public JobStore Jobs => Get<JobStore>();

    /// <summary>The models served.</summary>
    public ModelCatalog Models => Get<ModelCatalog>();

    /// <summary>Realtime sessions: open and recently ended, with events and waits.</summary>
    public Realtime.SessionRegistry Sessions => Get<Realtime.SessionRegistry>();

    /// <summary>Faults in force; add and remove them at runtime.</summary>
    public Faults.FaultSet Faults => Get<Faults.FaultSet>();

    /// <summary>Drops a session as a network failure would.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="mode">WebSocket close, media black hole, or both (default).</param>
    /// <param name="cancellationToken">Stops waiting for the drop to complete (the drop itself is under way).</param>
    /// <returns>A task that completes when applied.</returns>
    /// <exception cref="KeyNotFoundException">When there is no such session.</exception>
    public Task DropAsync(string sessionId, Decart.Simulator.Faults.DropMode mode = Decart.Simulator.Faults.DropMode.Both, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var session = Sessions.Find(sessionId) ?? throw new KeyNotFoundException($"no session {sessionId}");
        return session.DropAsync(mode, cancellationToken);
    }

    /// <summary>
    /// How many realtime sessions may generate at once (null: unlimited; starts as
    /// <see cref="SimulatorOptions.MaxConcurrentSessions"/>). Raising it admits waiting sessions at once; lowering it
    /// makes new sessions wait until enough running ones end.
    /// </summary>
    public int? Capacity
    {
        get => Get<Realtime.SessionSlots>().Capacity;
        set => Get<Realtime.SessionSlots>().Capacity = value is < 0 ? throw new ArgumentOutOfRangeException(nameof(value), "capacity: 0 or more, or null for unlimited") : value;
    }

    /// <summary>Realtime sessions waiting for the model (see <see cref="Capacity"/>).</summary>
    public int QueuedSessions => Get<Realtime.SessionSlots>().Waiting;

    /// <summary>Rooms of the built-in LiveKit room server that are open (one per live <c>livekit_join</c> session).</summary>
    public int OpenRooms => Get<Rooms.RoomRegistry>().Count;

    /// <summary>The options in force.</summary>
    public SimulatorOptions Options => Get<SimulatorOptions>();

    /// <summary>The simulator's services (ASP.NET's container): its options, stores, sessions, faults and rooms.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a simulator and waits until it listens.</summary>
    /// <param name="options">Settings; null for defaults (ephemeral loopback port, development key).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running simulator; dispose it to stop it and free the port.</returns>
    public static async Task<DecartSimulator> StartAsync(SimulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SimulatorOptions();
        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Port, "port must be 0..65535");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(options.LogLevel);
        RedactLogs(builder.Services);
        builder.WebHost.UseKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            k.AddServerHeader = false;
        });
        builder.WebHost.UseUrls($"http://{FormatHost(options.Host)}:{options.Port}");
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(f => f.MultipartBodyLengthLimit = options.MaxRequestBytes);
        builder.Services.AddDecartSimulator(options);
        var app = builder.Build();
        _ = app.Services.GetRequiredService<Faults.FaultSet>(); // the scenario's faults are in force before the first request
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = options.KeepAliveInterval, KeepAliveTimeout = options.KeepAliveTimeout <= TimeSpan.Zero ? Timeout.InfiniteTimeSpan : options.KeepAliveTimeout });
        app.UseCors();
        RestEndpoints.Map(app);
        FileEndpoints.Map(app);
        Realtime.StreamEndpoint.Map(app);
        Rooms.RoomEndpoint.Map(app);
        Control.ControlEndpoints.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DecartSimulator(app, new Uri(address));
    }

    /// <summary>Stops the server and frees its port.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // Every open session is told first (error, close 1001 "going away"), so clients see a shutdown, not a network
        // drop to retry; then the server stops.
        var open = Sessions.Open;
        if (open.Count > 0)
        {
            try
            {
                await Task.WhenAll(open.Select(s => s.ShutdownAsync())).WaitAsync(TimeSpan.FromSeconds(4)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(bound.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Wraps every registered logger provider in <see cref="RedactingLoggerProvider"/>: ASP.NET's request lines carry
    /// query strings (<c>api_key</c>, <c>access_token</c>), and no log line may carry a key or a token.
    /// </summary>
    private static void RedactLogs(IServiceCollection services)
    {
        for (int i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(ILoggerProvider) || descriptor.IsKeyedService)
            {
                continue;
            }

            services[i] = ServiceDescriptor.Singleton<ILoggerProvider>(sp => new RedactingLoggerProvider(
                descriptor.ImplementationInstance as ILoggerProvider
                ?? (ILoggerProvider?)descriptor.ImplementationFactory?.Invoke(sp)
                ?? (ILoggerProvider)ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!)));
        }
    }

    private T Get<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    private static string FormatHost(string host) => host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
}
