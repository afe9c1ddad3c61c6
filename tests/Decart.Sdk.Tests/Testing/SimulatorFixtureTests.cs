using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Faults;
using Decart.Simulator.Testing;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Testing;

/// <summary>
/// Decart.Simulator.Testing as a user's test class would use it: one simulator for the class, clients from the
/// fixture, a session awaited, the model's frames read by state version, a fault injected and removed, a drop the SDK
/// recovers from. Bad input tried: waits that cannot succeed (they time out with a message that says what was seen),
/// an invalid fault.
/// </summary>
public sealed class SimulatorFixtureTests(DecartSimulatorFixture sim) : IClassFixture<DecartSimulatorFixture>
{
    [Fact]
    public async Task A_session_is_awaited_its_frames_read_by_version_a_fault_removed_and_a_drop_recovered()
    {
        using var client = sim.CreateClient();
        await using var camera = await SourceAsync();
        var stamps = new StateStampRecorder();
        var states = new List<ConnectionState>();
        await using var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            InitialState = new RealtimeState { Prompt = "first" },
            DecodedSink = stamps,
            OnConnectionChanged = s => { lock (states) { states.Add(s); } },
        });

        var session = await sim.WaitForSessionAsync(s => s.Prompt == "first");
        await sim.WaitUntilGeneratingAsync(session);
        await stamps.WaitForVersionAsync(1);

        await rt.SetPromptAsync("second");
        var shown = await stamps.WaitForVersionAsync(session.StateVersion);
        Assert.Equal(session.StateVersion, shown.Version);
        Assert.Equal("second", session.Prompt);
        Assert.True(stamps.StampedFrames > 0);
        Assert.Equal(0, stamps.UnstampedFrames);

        using (var fault = sim.InjectFault(new Fault { Type = FaultType.Latency, LatencyMs = 50, SessionId = session.Id }))
        {
            Assert.Contains(sim.Simulator.Faults.All, f => f.Id == fault.Fault.Id);
        }

        Assert.Empty(sim.Simulator.Faults.All);

        await sim.DropAsync(session);
        var second = await sim.WaitForSessionAsync(s => s.Id != session.Id && s.Prompt == "second");   // restored by the SDK
        await sim.WaitUntilGeneratingAsync(second);
        lock (states)
        {
            Assert.Contains(ConnectionState.Reconnecting, states);
        }
    }

    [Fact]
    public async Task Waits_that_cannot_succeed_time_out_with_what_was_seen_and_an_invalid_fault_is_refused()
    {
        var none = await Assert.ThrowsAsync<TimeoutException>(() => sim.WaitForSessionAsync(s => s.Id == "no-such-session", TimeSpan.FromMilliseconds(300)));
        Assert.Contains("0.3 s", none.Message, StringComparison.Ordinal);

        var stamps = new StateStampRecorder();
        var never = await Assert.ThrowsAsync<TimeoutException>(() => stamps.WaitForVersionAsync(5, TimeSpan.FromMilliseconds(200)));
        Assert.Contains("latest: none", never.Message, StringComparison.Ordinal);

        Assert.Throws<InvalidFaultException>(() => sim.InjectFault(new Fault { Type = FaultType.Loss, LossPercent = 250 }));
        Assert.Empty(sim.Simulator.Faults.All);
    }
}
