namespace Decart.Rtc.Tests;

public sealed class StateMachineTests
{
    private static StateMachine<PeerConnectionState> New() => new(PeerConnectionState.New, PeerConnectionState.Failed, PeerConnectionState.Closed);

    [Fact]
    public void Moves_report_once_and_terminal_states_stick()
    {
        var state = New();
        Assert.True(state.TryMove(PeerConnectionState.Connecting));
        Assert.False(state.TryMove(PeerConnectionState.Connecting)); // no change, nothing to report
        Assert.True(state.TryMove(PeerConnectionState.Connected));
        Assert.True(state.TryMove(PeerConnectionState.Failed));
        Assert.False(state.TryMove(PeerConnectionState.Connected)); // Failed is left only for Closed
        Assert.False(state.TryMove(PeerConnectionState.Connecting));
        Assert.True(state.TryMove(PeerConnectionState.Closed));
        Assert.False(state.TryMove(PeerConnectionState.Failed)); // Closed is never left
        Assert.False(state.TryMove(PeerConnectionState.New));
        Assert.Equal(PeerConnectionState.Closed, state.Current);
    }

    [Fact]
    public void Conditional_move_only_from_the_expected_state()
    {
        var state = New();
        Assert.False(state.TryMove(PeerConnectionState.Connecting, PeerConnectionState.Connected));
        Assert.True(state.TryMove(PeerConnectionState.New, PeerConnectionState.Connecting));
        Assert.Equal(PeerConnectionState.Connecting, state.Current);
    }

    [Fact]
    public void A_connected_racing_a_close_never_overwrites_it()
    {
        for (int round = 0; round < 200; round++)
        {
            var state = New();
            state.TryMove(PeerConnectionState.Connecting);
            int reportedClosed = 0, reportedConnected = 0;
            using var go = new ManualResetEventSlim();
            var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
            {
                go.Wait();
                for (int k = 0; k < 50; k++)
                {
                    if (i == 0 && k == 10 && state.TryMove(PeerConnectionState.Closed))
                    {
                        Interlocked.Increment(ref reportedClosed);
                    }
                    else if (i != 0 && state.TryMove(PeerConnectionState.Connected))
                    {
                        Interlocked.Increment(ref reportedConnected);
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            go.Set();
            threads.ForEach(t => t.Join());
            Assert.Equal(PeerConnectionState.Closed, state.Current);
            Assert.Equal(1, reportedClosed);
            Assert.InRange(reportedConnected, 0, 1); // reported at most once, and only before the close
        }
    }
}
