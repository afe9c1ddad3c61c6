using Decart.Simulator.Constraints;

namespace Decart.Simulator.Hosting;

/// <summary>How a simulator runs. Binds from configuration (Options pattern) as well as from code.</summary>
public sealed class SimulatorOptions
{
    /// <summary>The key accepted when none is configured: a local development key.</summary>
    public const string DevelopmentKey = "sim_dev_key";

    /// <summary>Address to bind. Default loopback only.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Port; 0 picks a free one. Default 0 (the command line defaults to 7777).</summary>
    public int Port { get; set; }

    /// <summary>Permanent API keys the simulator accepts. Empty: <see cref="DevelopmentKey"/>.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>How long a job stays <c>pending</c>.</summary>
    public TimeSpan JobPendingFor { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a job stays <c>processing</c> after that.</summary>
    public TimeSpan JobProcessingFor { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>How long an expired client token is still recognized (refused as expired, not unknown) before it is forgotten. Default 1 h.</summary>
    public TimeSpan TokenRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Most client tokens kept; beyond it the earliest-expiring are forgotten. Default 10,000.</summary>
    public int MaxTokens { get; set; } = 10_000;

    /// <summary>How long a job is kept after it was submitted. Default 1 h.</summary>
    public TimeSpan JobRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Most jobs kept; beyond it the oldest are forgotten. Default 1,000.</summary>
    public int MaxJobs { get; set; } = 1_000;

    /// <summary>Jobs for these models end <c>failed</c> instead of <c>completed</c>.</summary>
    public List<string> FailJobsForModels { get; set; } = [];

    /// <summary>Largest accepted request body (multipart uploads), bytes. Default 50 MiB.</summary>
    public long MaxRequestBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Extra or changed models.</summary>
    public List<SimulatedModel> Models { get; set; } = [];

    /// <summary>The clock for job schedules and token expiry (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Minimum log level of ASP.NET Core's own logs. Default Warning.</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Warning;

    /// <summary>Realtime: the model's mean processing latency, from a frame's arrival to its output. Default 30 ms.</summary>
    public TimeSpan ProcessingLatency { get; set; } = TimeSpan.FromMilliseconds(30);

    /// <summary>Realtime: the processing latency varies uniformly by up to this much either side of <see cref="ProcessingLatency"/>. Default 0.</summary>
    public TimeSpan ProcessingJitter { get; set; }

    /// <summary>
    /// Realtime: how the model makes its output — <see cref="Model.ModelMode.Transform"/> (decode, draw the state and
    /// the stamp, encode; the default) or <see cref="Model.ModelMode.Echo"/> (the bitstream back, for load tests).
    /// Sessions can override it (<c>SimulatedSession.SetModelMode</c>, the control API).
    /// </summary>
    public Model.ModelMode ModelMode { get; set; } = Model.ModelMode.Transform;

    /// <summary>Realtime: model constraints (frame size, fps) end the session with an <c>error</c> instead of a counted warning. Default false (lenient).</summary>
    public bool StrictConstraints { get; set; }

    /// <summary>Realtime: largest accepted WebSocket message, bytes. Default 10 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Realtime: largest accepted <c>set_image</c> image after base64 decoding, bytes. Default 5 MiB.</summary>
    public int MaxImageBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>Realtime: <c>prompt</c>/<c>set_image</c> messages accepted per second per session; more are refused with <c>success:false</c>. Default 20.</summary>
    public int MaxUpdatesPerSecond { get; set; } = 20;

    /// <summary>Realtime: interval of <c>generation_tick</c>. Default 1 s.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Realtime: keep what each session received as an IVF file in memory (<c>SimulatedSession.Recording</c>). Default false.</summary>
    public bool RecordSessions { get; set; }

    /// <summary>Realtime: also write each session's recording to this folder as <c>{sessionId}.ivf</c>. Implies <see cref="RecordSessions"/>.</summary>
    public string? RecordDirectory { get; set; }

    /// <summary>
    /// Realtime: a session whose media has not connected this long after it started (or after its room was handed out,
    /// when it queued) is ended with an <c>error</c>. Zero turns it off. Default 30 s.
    /// </summary>
    public TimeSpan NegotiationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Realtime: WebSocket keep-alive: a ping every this often (0: none). Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Realtime: a control socket whose peer answers no ping for this long is closed (0: never). Default 30 s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Realtime: server-side ICE consent timeout. Default 30 s.</summary>
    public TimeSpan ConsentTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Realtime: how many ended sessions stay listed for inspection. Default 100.</summary>
    public int KeepEndedSessions { get; set; } = 100;

    /// <summary>Realtime: the server sends its own SDP <c>offer</c> right after accepting a session (the client answers), instead of waiting for the client's. Default false.</summary>
    public bool ServerOffers { get; set; }

    /// <summary>
    /// Realtime: how many sessions may generate at once (the model's capacity); null (the default) for unlimited.
    /// Beyond it a LiveKit-era session waits after <c>livekit_join</c>, told its place by <c>queue_position</c>
    /// (<c>position</c>, <c>queue_size</c>) each time it changes, and gets <c>livekit_room_info</c> when a slot frees;
    /// a direct session waits silently before its offer is answered. <c>--capacity N</c>.
    /// </summary>
    public int? MaxConcurrentSessions { get; set; }

    /// <summary>
    /// The room server answers LiveKit's single-connection path <c>/rtc/v1</c> (true, the default) — or, when false,
    /// answers it and its <c>/validate</c> with 404 as a LiveKit server before 1.9 does, so clients fall back to the
    /// two-connection path <c>/rtc</c> (served either way). <c>--room-v0</c>.
    /// </summary>
    public bool RoomSingleConnection { get; set; } = true;

    /// <summary>Files API: most uploaded files kept (beyond it the oldest go). Default 1,000.</summary>
    public int MaxFiles { get; set; } = 1_000;

    /// <summary>Files API: most bytes kept over all uploaded files (beyond it the oldest go). Default 256 MiB. One file is at most <see cref="MaxImageBytes"/>.</summary>
    public long MaxFileStoreBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Browser origins allowed to call the simulator's HTTP endpoints (CORS), e.g. <c>http://localhost:5173</c>; <c>*</c>
    /// allows any. Empty (the default): any origin while the simulator listens on loopback, none otherwise.
    /// </summary>
    public List<string> CorsOrigins { get; set; } = [];

    /// <summary>Faults in force from the start (a scenario file's <c>faults</c>).</summary>
    public List<Faults.Fault> Faults { get; set; } = [];

    /// <summary>The keys in force: <see cref="ApiKeys"/>, or the development key when none.</summary>
    internal IReadOnlyList<string> EffectiveKeys => ApiKeys.Count > 0 ? ApiKeys : [DevelopmentKey];

    /// <summary>Whether a browser page of <paramref name="origin"/> may call the HTTP endpoints (see <see cref="CorsOrigins"/>).</summary>
    /// <param name="origin">The request's <c>Origin</c>.</param>
    /// <returns>Whether CORS lets it read the answers.</returns>
    internal bool AllowsOrigin(string origin)
    {
        if (CorsOrigins.Count == 0)
        {
            return Host is "localhost" or "::1" || (System.Net.IPAddress.TryParse(Host, out var address) && System.Net.IPAddress.IsLoopback(address));
        }

        foreach (var allowed in CorsOrigins)
        {
            if (allowed == "*" || string.Equals(allowed.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
