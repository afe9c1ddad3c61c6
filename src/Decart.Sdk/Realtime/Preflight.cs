using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Decart.Rtc.Stun;
using Decart.Sdk.Media;
using Decart.Sdk.Models;

namespace Decart.Sdk.Realtime;

/// <summary>How a connectivity check reached the network.</summary>
public enum ConnectivityTransport
{
    /// <summary>Direct UDP works (a STUN server answered; or the deep probe's session connected).</summary>
    Udp,

    /// <summary>Only through a relay.</summary>
    Relay,

    /// <summary>Nothing answered (or the deep probe's session could not connect).</summary>
    Failed,
}

/// <summary>Options of <see cref="RealtimeApi.CheckConnectivityAsync"/>.</summary>
public sealed record ConnectivityCheckOptions
{
    /// <summary>STUN servers to probe (<c>stun:host:port</c>); default Decart's JS SDK's, <c>stun:stun.l.google.com:19302</c>.</summary>
    public IReadOnlyList<string> StunServers { get; init; } = ["stun:stun.l.google.com:19302"];

    /// <summary>How long the STUN probe waits for an answer. Default 5 s (Decart's JS SDK's gathering bound).</summary>
    public TimeSpan StunTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Instead of the STUN probe, open a short real session with <see cref="Model"/> (a synthetic camera at the
    /// model's size and fps, glass-to-glass timing on) and judge what it measured: time to first frame, glass-to-glass,
    /// upstream loss. It costs a (short) session.
    /// </summary>
    public bool Deep { get; init; }

    /// <summary>The model of the deep probe (required with <see cref="Deep"/>: latency is model-specific).</summary>
    public RealtimeModel? Model { get; init; }

    /// <summary>The deep probe stops at 5 glass-to-glass samples or after this long. Default 12 s (Decart's JS SDK).</summary>
    public TimeSpan DeepDuration { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>The deep probe's transport. Default LiveKit (glass-to-glass needs it).</summary>
    public RealtimeTransport Transport { get; init; } = RealtimeTransport.LiveKit;
}

/// <summary>What a connectivity check measured.</summary>
/// <param name="Transport">How the network was reached.</param>
/// <param name="RoundTripTime">STUN round trip (probe) or the session's RTT (deep), if measured.</param>
/// <param name="GlassToGlass">The deep probe's glass-to-glass median after its warm-up, if measured.</param>
/// <param name="TimeToFirstFrame">The deep probe's time to first frame, if it got one.</param>
/// <param name="PacketLoss">The deep probe's upstream loss (0–1), if reported.</param>
/// <param name="SampleCount">Glass-to-glass samples behind <see cref="GlassToGlass"/>.</param>
public sealed record ConnectivityMetrics(ConnectivityTransport Transport, TimeSpan? RoundTripTime, TimeSpan? GlassToGlass, TimeSpan? TimeToFirstFrame, double? PacketLoss, int SampleCount);

/// <summary>The verdict of a connectivity check, with the reasons for anything less than good.</summary>
/// <param name="Quality">The verdict.</param>
/// <param name="Metrics">What was measured.</param>
/// <param name="Reasons">Why it is not good (empty when it is).</param>
public sealed record ConnectivityReport(ConnectionQualityLevel Quality, ConnectivityMetrics Metrics, IReadOnlyList<string> Reasons);

/// <summary>Decart's JS SDK's preflight, on the SDK's own stack: a STUN probe, or a short real session.</summary>
internal static class Preflight
{
    public static async Task<ConnectivityReport> CheckAsync(DecartClient client, ConnectivityCheckOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Deep)
        {
            var model = options.Model ?? throw new DecartException(DecartErrorCode.InvalidOptions, "a deep connectivity check needs a Model (latency is model-specific).");
            return await DeepAsync(client, model, options, cancellationToken).ConfigureAwait(false);
        }

        if (options.StunServers is not { Count: > 0 and <= 8 } || options.StunTimeout <= TimeSpan.Zero || options.StunTimeout > TimeSpan.FromSeconds(60))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, "StunServers: 1 to 8; StunTimeout: more than 0 and at most 60 s.");
        }

        var reasons = new List<string>();
        var probes = options.StunServers.Select(s => ProbeAsync(s, options.StunTimeout, reasons, cancellationToken)).ToArray();
        var results = await Task.WhenAll(probes).ConfigureAwait(false);
        var best = results.Where(r => r is not null).Select(r => r!.Value).DefaultIfEmpty(TimeSpan.MaxValue).Min();
        if (best == TimeSpan.MaxValue)
        {
            reasons.Insert(0, "No STUN server answered: UDP to the internet looks blocked.");
            return new ConnectivityReport(ConnectionQualityLevel.Critical, new ConnectivityMetrics(ConnectivityTransport.Failed, null, null, null, null, 0), reasons);
        }

        reasons.Clear(); // one server answering is enough; the others' failures are not the verdict's reasons
        double ms = best.TotalMilliseconds;
        var quality = ms > 300 ? ConnectionQualityLevel.Poor : ms > 150 ? ConnectionQualityLevel.Fair : ConnectionQualityLevel.Good;
        if (quality != ConnectionQualityLevel.Good)
        {
            reasons.Add($"The round trip to the STUN server is ~{ms:0} ms (good ≤ 150 ms).");
        }

        return new ConnectivityReport(quality, new ConnectivityMetrics(ConnectivityTransport.Udp, best, null, null, null, 0), reasons);
    }

    /// <summary>One STUN binding request (retransmitted at 0.5, 1.5, 3.5 s as RFC 8489 paces them) and the round trip of its answer; null when none came.</summary>
    private static async Task<TimeSpan?> ProbeAsync(string server, TimeSpan timeout, List<string> reasons, CancellationToken cancellationToken)
    {
        if (!TryParseStun(server, out string host, out int port))
        {
            Add(reasons, $"'{Shorten(server)}' is not a stun:host:port URL.");
            return null;
        }

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(timeout);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, bound.Token).ConfigureAwait(false);
            var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new SocketException((int)SocketError.HostNotFound);
            using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            var remote = new IPEndPoint(address, port);
            // A fresh transaction per attempt, so an answer to a retransmission is timed from its own send, not from the
            // first (a lost request would otherwise add its whole retransmission wait to the round trip).
            var transactions = new byte[5][];
            var sentAt = new long[5];
            var request = new byte[20];
            var receive = new byte[1500];
            var any = new IPEndPoint(address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            var pending = socket.ReceiveFromAsync(receive, SocketFlags.None, any, bound.Token).AsTask();
            try
            {
                int[] waits = [500, 1000, 2000, 4000, 8000];
                for (int attempt = 0; attempt < waits.Length; attempt++)
                {
                    transactions[attempt] = RandomNumberGenerator.GetBytes(12);
                    int length = new StunWriter(request, StunMessageType.BindingRequest, transactions[attempt]).Length;
                    sentAt[attempt] = TimeProvider.System.GetTimestamp();
                    await socket.SendToAsync(request.AsMemory(0, length), SocketFlags.None, remote, bound.Token).ConfigureAwait(false);
                    while (await Task.WhenAny(pending, Task.Delay(waits[attempt], bound.Token)).ConfigureAwait(false) == pending)
                    {
                        var got = await pending.ConfigureAwait(false);
                        if (StunMessage.TryParse(receive.AsSpan(0, got.ReceivedBytes), out var message, out _) && message.Type == StunMessageType.BindingSuccess)
                        {
                            for (int i = 0; i <= attempt; i++)
                            {
                                if (message.TransactionId.SequenceEqual(transactions[i]))
                                {
                                    return TimeProvider.System.GetElapsedTime(sentAt[i]);
                                }
                            }
                        }

                        pending = socket.ReceiveFromAsync(receive, SocketFlags.None, any, bound.Token).AsTask(); // not ours (garbage, another transaction): keep listening
                    }
                }
            }
            finally
            {
                // The receive still pending ends cancelled, before the socket goes: no unobserved failure.
                await bound.CancelAsync().ConfigureAwait(false);
                await Task.WhenAny(pending).ConfigureAwait(false);
                _ = pending.Exception;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Add(reasons, $"{Shorten(host)}:{port} did not answer within {timeout.TotalSeconds:0.#} s.");
            return null;
        }
        catch (SocketException ex)
        {
            Add(reasons, $"{Shorten(host)}:{port}: {ex.SocketErrorCode}.");
            return null;
        }

        Add(reasons, $"{Shorten(host)}:{port} did not answer within {timeout.TotalSeconds:0.#} s.");
        return null;
    }

    private static void Add(List<string> reasons, string reason)
    {
        lock (reasons)
        {
            reasons.Add(reason);
        }
    }

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "…" : text;

    private static bool TryParseStun(string server, out string host, out int port)
    {
        host = string.Empty;
        port = 3478;
        if (server is null || !server.StartsWith("stun:", StringComparison.OrdinalIgnoreCase) || server.Length > 300)
        {
            return false;
        }

        var rest = server[5..];
        int colon = rest.LastIndexOf(':');
        if (colon > 0 && !rest.EndsWith(']'))
        {
            if (!int.TryParse(rest[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                return false;
            }

            rest = rest[..colon];
        }

        host = rest.Trim('[', ']');
        return host.Length > 0;
    }

    /// <summary>The deep probe: a real session of a synthetic camera, judged as Decart's JS SDK judges its probe.</summary>
    private static async Task<ConnectivityReport> DeepAsync(DecartClient client, RealtimeModel model, ConnectivityCheckOptions options, CancellationToken cancellationToken)
    {
        if (options.DeepDuration <= TimeSpan.Zero || options.DeepDuration > TimeSpan.FromMinutes(2))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, "DeepDuration: more than 0 and at most 2 minutes.");
        }

        await using var camera = new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment);
        RealtimeClient rt;
        try
        {
            rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions
            {
                Model = model,
                Transport = options.Transport,
                MeasureGlassToGlass = true,
                Reconnect = ReconnectPolicy.None,
                StatsInterval = TimeSpan.FromMilliseconds(500),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (DecartException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new ConnectivityReport(ConnectionQualityLevel.Critical, new ConnectivityMetrics(ConnectivityTransport.Failed, null, null, null, null, 0), [$"Could not establish a realtime session for the deep probe ({ex.CodeString}: {ex.Message})."]);
        }

        await using (rt.ConfigureAwait(false))
        {
            var deadline = TimeProvider.System.GetTimestamp() + (long)(options.DeepDuration.TotalSeconds * TimeProvider.System.TimestampFrequency);
            while (rt.GlassToGlass.SampleCount < 5 && TimeProvider.System.GetTimestamp() < deadline)
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }

            var g2g = rt.GlassToGlass;
            var stats = rt.Stats;
            return Classify(new ConnectivityMetrics(ConnectivityTransport.Udp, stats?.RoundTripTime, g2g.Median, g2g.TimeToFirstFrame, stats?.UpstreamLoss, g2g.SampleCount));
        }
    }

    /// <summary>Decart's JS SDK's deep-probe verdict: TTFF (4 / 6 / 10 s) and glass-to-glass bands, RTT only when neither was measured, upstream loss; nothing measured is fair.</summary>
    internal static ConnectivityReport Classify(ConnectivityMetrics m)
    {
        var t = QualityThresholds.Default;
        var reasons = new List<string>();
        var dims = new List<ConnectionQualityLevel>();
        if (m.TimeToFirstFrame is { } ttff)
        {
            var q = ConnectionQualityEvaluator.LowerBetter(ttff.TotalMilliseconds, (4000, 6000, 10000));
            dims.Add(q);
            if (q != ConnectionQualityLevel.Good)
            {
                reasons.Add($"Time to first frame is ~{ttff.TotalSeconds:0.0} s (good ≤ 4 s); the session is slow to start.");
            }
        }

        if (m.GlassToGlass is { } g2g)
        {
            var q = ConnectionQualityEvaluator.LowerBetter(g2g.TotalMilliseconds, t.GlassToGlassMs);
            dims.Add(q);
            if (q != ConnectionQualityLevel.Good)
            {
                reasons.Add($"Glass-to-glass latency is ~{g2g.TotalMilliseconds:0} ms (good ≤ {t.GlassToGlassMs.Good:0} ms).");
            }
        }

        if (m.TimeToFirstFrame is null && m.GlassToGlass is null)
        {
            if (m.RoundTripTime is { } rtt)
            {
                reasons.Add("Glass-to-glass latency could not be measured during the probe; using the round-trip time instead.");
                dims.Add(ConnectionQualityEvaluator.LowerBetter(rtt.TotalMilliseconds, t.RttMs));
            }
            else
            {
                reasons.Add("The probe connected but could not measure latency.");
            }
        }

        if (m.PacketLoss is { } loss)
        {
            var q = ConnectionQualityEvaluator.LowerBetter(loss, t.Loss);
            dims.Add(q);
            if (q != ConnectionQualityLevel.Good)
            {
                reasons.Add($"Upstream packet loss is {loss * 100:0.0} % (good ≤ {t.Loss.Good * 100:0.#} %).");
            }
        }

        return new ConnectivityReport(dims.Count == 0 ? ConnectionQualityLevel.Fair : dims.Min(), m, reasons);
    }
}
