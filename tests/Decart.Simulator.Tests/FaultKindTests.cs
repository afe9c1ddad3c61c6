using System.Text.Json;
using Decart.Simulator.Faults;
using Decart.Simulator.Faults.Kinds;
using Decart.Simulator.Realtime;

namespace Decart.Simulator.Tests;

/// <summary>Every fault kind on its own: its wire name, its parameter rules, and what it does.</summary>
public class FaultKindTests
{
    [Fact]
    public void Every_fault_type_has_one_kind_registered_under_its_wire_name()
    {
        foreach (var type in Enum.GetValues<FaultType>())
        {
            var kind = FaultKinds.Of(type);
            Assert.NotNull(kind);
            string wire = JsonSerializer.Serialize(type).Trim('"'); // the name scenario files and the control API use
            Assert.Equal(wire, kind.Name);
            Assert.Same(kind, FaultKinds.Named(wire));
        }

        Assert.Equal(Enum.GetValues<FaultType>().Length, FaultKinds.Registered.Count);
        Assert.Null(FaultKinds.Named("frobnicate"));
        Assert.Equal("type: unknown fault type", new Fault { Type = (FaultType)99 }.Validate());
    }

    [Theory]
    [InlineData("""{"type":"latency","latencyMs":80,"jitterMs":10,"target":"both","direction":"to_client"}""")]
    [InlineData("""{"type":"loss","lossPercent":5}""")]
    [InlineData("""{"type":"bandwidth","bandwidthKbps":300}""")]
    [InlineData("""{"type":"drop","afterSeconds":2,"mode":"room"}""")]
    [InlineData("""{"type":"refuse","count":2,"error":"busy"}""")]
    [InlineData("""{"type":"stall","stallSeconds":1.5}""")]
    [InlineData("""{"type":"delay_acks","delayMs":700}""")]
    [InlineData("""{"type":"server_error","error":"oops","afterFrames":30}""")]
    [InlineData("""{"type":"end_generation","reason":"insufficient_credits"}""")]
    [InlineData("""{"type":"queue","count":3,"delayMs":100}""")]
    public void The_wire_format_is_unchanged_and_each_kind_accepts_its_example(string json)
    {
        var fault = JsonSerializer.Deserialize<Fault>(json, Control.ControlEndpoints.Json)!;
        Assert.Null(fault.Validate());
        var back = JsonDocument.Parse(JsonSerializer.Serialize(fault, Control.ControlEndpoints.Json)).RootElement;
        foreach (var property in JsonDocument.Parse(json).RootElement.EnumerateObject())
        {
            Assert.Equal(property.Value.ToString(), back.GetProperty(property.Name).ToString());
        }
    }

    [Theory]
    [InlineData(FaultType.Latency, """{"latencyMs":-1}""", "latencyMs")]
    [InlineData(FaultType.Latency, """{"latencyMs":10,"jitterMs":20}""", "jitterMs")]
    [InlineData(FaultType.Loss, """{"lossPercent":0}""", "lossPercent")]
    [InlineData(FaultType.Loss, """{"lossPercent":101}""", "lossPercent")]
    [InlineData(FaultType.Bandwidth, """{"bandwidthKbps":0}""", "bandwidthKbps")]
    [InlineData(FaultType.Refuse, """{"count":0}""", "count")]
    [InlineData(FaultType.Stall, """{"stallSeconds":0}""", "stallSeconds")]
    [InlineData(FaultType.Stall, """{"stallSeconds":4000}""", "stallSeconds")]
    [InlineData(FaultType.DelayAcks, """{"delayMs":0}""", "delayMs")]
    [InlineData(FaultType.Queue, """{"count":1001}""", "count")]
    [InlineData(FaultType.Queue, """{"count":2,"delayMs":-5}""", "delayMs")]
    public void Each_kind_names_the_field_it_refuses(FaultType type, string parameters, string field)
    {
        var fault = JsonSerializer.Deserialize<Fault>(parameters, Control.ControlEndpoints.Json)! with { Type = type };
        Assert.StartsWith(field + ":", fault.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Latency_delays_media_and_signaling_within_its_jitter_and_only_where_targeted()
    {
        var kind = new LatencyFault();
        var fault = new Fault { Type = FaultType.Latency, LatencyMs = 100, JitterMs = 20, Target = FaultTarget.Both, Direction = FaultDirection.ToClient };
        for (int i = 0; i < 200; i++)
        {
            var verdict = default(MediaVerdict);
            kind.OnDatagram(fault, ref verdict);
            Assert.InRange(verdict.Delay.TotalMilliseconds, 80, 120);
            Assert.False(verdict.Drop);
        }

        Assert.InRange(kind.SignalingDelay(fault, toClient: true).TotalMilliseconds, 80, 120);
        Assert.Equal(TimeSpan.Zero, kind.SignalingDelay(fault, toClient: false)); // the other direction
        var mediaOnly = fault with { Target = FaultTarget.Media };
        Assert.Equal(TimeSpan.Zero, kind.SignalingDelay(mediaOnly, toClient: true));
        var signalingOnly = fault with { Target = FaultTarget.Signaling };
        var none = default(MediaVerdict);
        kind.OnDatagram(signalingOnly, ref none);
        Assert.Equal(TimeSpan.Zero, none.Delay);
    }

    [Fact]
    public void Loss_drops_about_its_percentage()
    {
        var kind = new LossFault();
        var fault = new Fault { Type = FaultType.Loss, LossPercent = 30 };
        int dropped = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var verdict = default(MediaVerdict);
            kind.OnDatagram(fault, ref verdict);
            dropped += verdict.Drop ? 1 : 0;
        }

        Assert.InRange(dropped / 20_000.0, 0.27, 0.33);
        var all = default(MediaVerdict);
        kind.OnDatagram(fault with { LossPercent = 100 }, ref all);
        Assert.True(all.Drop);
    }

    [Fact]
    public void Bandwidth_keeps_the_tightest_cap()
    {
        var kind = new BandwidthFault();
        var verdict = default(MediaVerdict);
        kind.OnDatagram(new Fault { Type = FaultType.Bandwidth, BandwidthKbps = 800 }, ref verdict);
        kind.OnDatagram(new Fault { Type = FaultType.Bandwidth, BandwidthKbps = 300 }, ref verdict);
        kind.OnDatagram(new Fault { Type = FaultType.Bandwidth, BandwidthKbps = 500 }, ref verdict);
        Assert.Equal(300, verdict.BandwidthKbps);
    }

    [Fact]
    public void The_actions_act_on_the_session_with_their_parameters_or_defaults()
    {
        var target = new RecordingTarget();
        new DropFault().Act(new Fault { Type = FaultType.Drop, Mode = DropMode.Media }, target);
        new StallFault().Act(new Fault { Type = FaultType.Stall, StallSeconds = 2.5 }, target);
        new ServerErrorFault().Act(new Fault { Type = FaultType.ServerError }, target);
        new ServerErrorFault().Act(new Fault { Type = FaultType.ServerError, Error = "boom" }, target);
        new EndGenerationFault().Act(new Fault { Type = FaultType.EndGeneration }, target);
        Assert.Equal(["drop media", "stall 2.5", "error Internal server error", "error boom", "end insufficient_credits"], target.Calls);
        Assert.All(FaultKinds.Registered, k => Assert.Equal(k is DropFault or StallFault or ServerErrorFault or EndGenerationFault, k.IsAction));
    }

    [Fact]
    public void Refuse_delay_acks_and_queue_answer_their_own_questions_only()
    {
        Assert.Equal(RefuseFault.DefaultError, new RefuseFault().RefusalError(new Fault { Type = FaultType.Refuse }));
        Assert.Equal("busy", new RefuseFault().RefusalError(new Fault { Type = FaultType.Refuse, Error = "busy" }));
        Assert.Equal(TimeSpan.FromMilliseconds(700), new DelayAcksFault().AckDelay(new Fault { Type = FaultType.DelayAcks, DelayMs = 700 }));
        Assert.Equal((3, TimeSpan.FromMilliseconds(500)), new QueueFault().QueueWait(new Fault { Type = FaultType.Queue, Count = 3 }));
        Assert.Equal((2, TimeSpan.FromMilliseconds(50)), new QueueFault().QueueWait(new Fault { Type = FaultType.Queue, Count = 2, DelayMs = 50 }));

        // No other kind refuses, holds acks, queues or delays signaling.
        var plain = new Fault { LatencyMs = 0 };
        foreach (var kind in FaultKinds.Registered)
        {
            var fault = plain with { Type = kind.Type };
            Assert.Equal(kind is RefuseFault, kind.RefusalError(fault) is not null);
            Assert.Equal(kind is QueueFault, kind.QueueWait(fault with { Count = 1 }) is not null);
            if (kind is not DelayAcksFault)
            {
                Assert.Equal(TimeSpan.Zero, kind.AckDelay(fault with { DelayMs = 5 }));
            }

            if (kind is not LatencyFault)
            {
                Assert.Equal(TimeSpan.Zero, kind.SignalingDelay(fault with { LatencyMs = 50, Target = FaultTarget.Both }, toClient: true));
            }
        }
    }

    private sealed class RecordingTarget : IFaultTarget
    {
        public List<string> Calls { get; } = [];

        public Task DropAsync(DropMode mode)
        {
            Calls.Add("drop " + JsonSerializer.Serialize(mode).Trim('"'));
            return Task.CompletedTask;
        }

        public void Stall(TimeSpan duration) => Calls.Add("stall " + duration.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public void SendError(string error) => Calls.Add("error " + error);

        public Task EndGenerationAsync(string reason)
        {
            Calls.Add("end " + reason);
            return Task.CompletedTask;
        }
    }
}
