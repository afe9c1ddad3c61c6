using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Sdk.Telemetry;
using Decart.Simulator.Faults;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// The SDK's platform telemetry, observed as OpenTelemetry and dotnet-counters observe it (an ActivityListener and a
/// MeterListener on "Decart.Sdk"), against the simulator over real sockets. Not run in parallel: the listeners are
/// process-wide and would hear other tests' sessions.
/// </summary>
[Collection(nameof(TelemetryTests))]
public class TelemetryTests
{
    [Theory]
    [InlineData(RealtimeTransport.LiveKit, new[] { "websocket-open", "room-info", "room-join", "first-frame" })]
    [InlineData(RealtimeTransport.Direct, new[] { "websocket-open", "initial-state-ack", "webrtc-handshake", "first-frame" })]
    public async Task A_connect_is_one_span_with_a_child_per_phase_and_the_meters_count_it(RealtimeTransport transport, string[] phases)
    {
        var spans = new ConcurrentQueue<Activity>();
        using var activities = ListenToSpans(spans);
        var measurements = new ConcurrentQueue<(string Name, double Value, string? Outcome, string? Transport)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == DecartTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? outcome = null, kind = null;
            foreach (var tag in tags)
            {
                outcome = tag.Key == "outcome" ? tag.Value as string : outcome;
                kind = tag.Key == "decart.transport" ? tag.Value as string : kind;
            }

            measurements.Enqueue((instrument.Name, value, outcome, kind));
        }

        meters.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        meters.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        meters.Start();

        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Transport = transport, InitialState = new RealtimeState { Prompt = "traced" }, StatsInterval = TimeSpan.FromMilliseconds(500) });
        await WaitUntilAsync(() => spans.Any(s => s.OperationName == "first-frame") && measurements.Any(m => m.Name == "decart.realtime.rtt") && rt.FramesReceived >= 10 && rt.FramesSent >= 10, TimeSpan.FromSeconds(30), "the first frame's span, an RTT sample and 10 frames each way");
        string sessionId = rt.SessionId!;
        await rt.DisposeAsync();

        var connect = Assert.Single(spans, s => s.OperationName == "decart.realtime.connect");
        Assert.Equal(sessionId, connect.GetTagItem("decart.session_id"));
        Assert.Equal(transport == RealtimeTransport.LiveKit ? "livekit" : "direct", connect.GetTagItem("decart.transport"));
        Assert.Equal(ActivityStatusCode.Unset, connect.Status);
        var children = spans.Where(s => s.ParentSpanId == connect.SpanId).ToList();
        Assert.Equal(phases.Order(), children.Select(c => c.OperationName).Order());
        Assert.All(children, c => Assert.Equal(connect.TraceId, c.TraceId));
        if (transport == RealtimeTransport.LiveKit)
        {
            // The room join, step by step: the signal connection, ICE and DTLS, the model's participant, the camera.
            var join = children.Single(c => c.OperationName == "room-join");
            var steps = spans.Where(s => s.ParentSpanId == join.SpanId).OrderBy(s => s.StartTimeUtc).ToList();
            Assert.Equal(["signal-join", "media-connect", "model-participant", "publish"], steps.Select(s => s.OperationName));
            Assert.All(steps, s => Assert.True(s.StartTimeUtc >= join.StartTimeUtc && s.StartTimeUtc + s.Duration <= join.StartTimeUtc + join.Duration + TimeSpan.FromMilliseconds(1), $"{s.OperationName} lies within room-join"));
        }

        var firstFrame = children.Single(c => c.OperationName == "first-frame");
        Assert.True(firstFrame.Duration >= connect.Duration, "the first frame comes after the connect returned");
        Assert.DoesNotContain(spans.SelectMany(s => s.Tags), t => t.Value?.Contains(sim.DefaultApiKey, StringComparison.Ordinal) == true);

        string kind = transport == RealtimeTransport.LiveKit ? "livekit" : "direct";
        Assert.Single(measurements, m => m.Name == "decart.realtime.connects" && m.Outcome == "success" && m.Transport == kind);
        Assert.Equal(0, measurements.Where(m => m.Name == "decart.realtime.sessions.active").Sum(m => m.Value)); // +1 on connect, -1 on dispose
        Assert.Contains(measurements, m => m.Name == "decart.realtime.sessions.active" && m.Value == 1);
        Assert.True(measurements.Count(m => m.Name == "decart.realtime.frames.sent") >= 10, "frames sent counted");
        Assert.True(measurements.Count(m => m.Name == "decart.realtime.frames.received") >= 10, "frames received counted");
        Assert.Single(measurements, m => m.Name == "decart.realtime.connect.duration");
        Assert.Contains(measurements, m => m.Name == "decart.realtime.send_bitrate" && m.Value > 0);
    }

    [Fact]
    public async Task A_reconnect_is_its_own_span_with_the_attempt_under_it_and_counts_as_a_successful_reconnect()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var activities = ListenToSpans(spans);
        long reconnects = 0;
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == DecartTelemetry.Name && instrument.Name == "decart.realtime.reconnects")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, v, _, _) => Interlocked.Add(ref reconnects, v));
        meters.Start();

        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log, new RealtimeState { Prompt = "again" }));
        await log.WaitForAsync(ConnectionState.Generating);
        await sim.DropAsync(rt.SessionId!, DropMode.WebSocket);
        await log.WaitForAsync(ConnectionState.Generating, occurrence: 2);
        await WaitUntilAsync(() => spans.Any(s => s.OperationName == "decart.realtime.reconnect"), TimeSpan.FromSeconds(10), "the reconnect span");
        var reconnect = spans.Single(s => s.OperationName == "decart.realtime.reconnect");
        Assert.Contains(spans, s => s.OperationName == "decart.realtime.connect" && s.ParentSpanId == reconnect.SpanId);
        Assert.Equal(1, Interlocked.Read(ref reconnects));
    }

    /// <summary>Records every stopped span of the SDK, as an OpenTelemetry exporter would see them.</summary>
    private static ActivityListener ListenToSpans(ConcurrentQueue<Activity> spans)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == DecartTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}

[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
public sealed class TelemetryTestsCollection;
