using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Decart.Sdk.Telemetry;

/// <summary>
/// The SDK's platform telemetry: a <see cref="System.Diagnostics.Metrics.Meter"/> and an
/// <see cref="System.Diagnostics.ActivitySource"/> both named <c>Decart.Sdk</c>, which OpenTelemetry
/// (<c>AddMeter("Decart.Sdk")</c>, <c>AddSource("Decart.Sdk")</c>), <c>dotnet-counters</c> and <c>dotnet-trace</c> read.
/// Nothing to configure; when nobody listens, an instrument or a span costs one check.
/// </summary>
/// <remarks>
/// Metrics: <c>decart.realtime.sessions.active</c> (sessions connected now), <c>decart.realtime.connects</c> and
/// <c>decart.realtime.reconnects</c> (by <c>outcome</c>: success, failure), <c>decart.realtime.frames.sent</c> and
/// <c>.received</c>, histograms <c>decart.realtime.connect.duration</c> (s), <c>decart.realtime.glass_to_glass</c> and
/// <c>decart.realtime.rtt</c> (ms), <c>decart.realtime.upstream_loss</c> (ratio) and <c>decart.realtime.send_bitrate</c>
/// / <c>.receive_bitrate</c> (bit/s), every one tagged with <c>decart.transport</c>. Spans: <c>decart.realtime.connect</c>
/// per attempt, with a child per phase — <c>websocket-open</c>, <c>room-info</c> and <c>room-join</c> (LiveKit; under it
/// <c>signal-join</c>, <c>media-connect</c> (ICE and DTLS), <c>model-participant</c> and <c>publish</c> on the
/// one-connection path, <c>signal-join</c> alone on the two-connection one),
/// <c>initial-state-ack</c> and <c>webrtc-handshake</c> (direct), <c>first-frame</c> (from the connect until the first
/// frame of the model arrived) — and <c>decart.realtime.reconnect</c> around each reconnect. No tag or span carries a
/// key, token or URL query.
/// </remarks>
public static class DecartTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "Decart.Sdk";

    private static readonly string Version = typeof(DecartTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The SDK's activity source (spans).</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, Version);

    /// <summary>The SDK's meter (metrics).</summary>
    public static Meter Meter { get; } = new(Name, Version);

    internal static readonly UpDownCounter<long> SessionsActive = Meter.CreateUpDownCounter<long>("decart.realtime.sessions.active", "{session}", "Realtime sessions connected now.");
    internal static readonly Counter<long> Connects = Meter.CreateCounter<long>("decart.realtime.connects", "{connect}", "Connection attempts of realtime sessions, by outcome.");
    internal static readonly Counter<long> Reconnects = Meter.CreateCounter<long>("decart.realtime.reconnects", "{reconnect}", "Automatic reconnects, by outcome.");
    internal static readonly Counter<long> FramesSent = Meter.CreateCounter<long>("decart.realtime.frames.sent", "{frame}", "Camera frames sent to the model.");
    internal static readonly Counter<long> FramesReceived = Meter.CreateCounter<long>("decart.realtime.frames.received", "{frame}", "Model frames received.");
    internal static readonly Histogram<double> ConnectDuration = Meter.CreateHistogram<double>("decart.realtime.connect.duration", "s", "Time to connect a realtime session (one attempt).");
    internal static readonly Histogram<double> GlassToGlass = Meter.CreateHistogram<double>("decart.realtime.glass_to_glass", "ms", "Capture to receipt of a model frame (with frame timing).");
    internal static readonly Histogram<double> RoundTripTime = Meter.CreateHistogram<double>("decart.realtime.rtt", "ms", "Round-trip time from RTCP, once per stats sample.");
    internal static readonly Histogram<double> UpstreamLoss = Meter.CreateHistogram<double>("decart.realtime.upstream_loss", "1", "Fraction of our packets the peer reported lost, once per stats sample.");
    internal static readonly Histogram<double> SendBitrate = Meter.CreateHistogram<double>("decart.realtime.send_bitrate", "bit/s", "Send bitrate, once per stats sample.");
    internal static readonly Histogram<double> ReceiveBitrate = Meter.CreateHistogram<double>("decart.realtime.receive_bitrate", "bit/s", "Receive bitrate, once per stats sample.");

    /// <summary>The transport tag.</summary>
    internal static KeyValuePair<string, object?> Transport(Realtime.RealtimeTransport transport) =>
        new("decart.transport", transport == Realtime.RealtimeTransport.LiveKit ? "livekit" : "direct");

    /// <summary>
    /// Starts a span under <paramref name="parent"/> (default: the caller's current activity) without making it the
    /// current one: the SDK's long-lived loops start inside its connects, and a span that became their current one
    /// would parent everything they later do (null when nobody listens).
    /// </summary>
    internal static Activity? Start(string name, ActivityContext parent = default, DateTimeOffset startTime = default)
    {
        var previous = Activity.Current;
        var activity = ActivitySource.StartActivity(name, ActivityKind.Internal, parent, startTime: startTime);
        Activity.Current = previous;
        return activity;
    }
}
