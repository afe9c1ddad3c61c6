using Decart.Sdk;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Decart.Simulator.Realtime;
using Xunit;

namespace Decart.Simulator.Testing;

/// <summary>
/// An xUnit fixture that runs one Decart simulator (real Kestrel on a free loopback port) for a test class
/// (<c>IClassFixture&lt;DecartSimulatorFixture&gt;</c>) or a collection (<c>ICollectionFixture</c>), and hands out
/// <see cref="DecartClient"/>s already pointed at it. Derive from it and override <see cref="Configure"/> to change the
/// simulator's options (latency, strict constraints, model mode, keys).
/// </summary>
/// <remarks>
/// Tests that share the fixture share the simulator: a test that injects faults should remove them (dispose the handle
/// <see cref="InjectFault"/> returns) or call <see cref="Reset"/>. Everything the fixture created is disposed with it.
/// </remarks>
public class DecartSimulatorFixture : IAsyncLifetime
{
    private readonly List<DecartClient> _clients = [];
    private DecartSimulator? _simulator;

    /// <summary>How long the waiting helpers wait when no timeout is given. Default 30 s.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The running simulator (its sessions, faults, tokens and jobs).</summary>
    /// <exception cref="InvalidOperationException">Before xUnit initialized the fixture, or after it was disposed.</exception>
    public DecartSimulator Simulator => _simulator ?? throw new InvalidOperationException(
        "The simulator is not running: xUnit starts it before the first test of the class or collection (IAsyncLifetime.InitializeAsync) and stops it after the last.");

    /// <summary>Options for a client of this simulator: its development key, REST root and realtime root.</summary>
    public DecartClientOptions ClientOptions => new()
    {
        ApiKey = Simulator.DefaultApiKey,
        BaseUrl = Simulator.BaseUrl,
        RealtimeBaseUrl = Simulator.RealtimeBaseUrl,
    };

    /// <summary>Changes the simulator's options before it starts. The default changes nothing.</summary>
    /// <param name="options">Options with a free port (0) on loopback; set latency, strictness, model mode, keys….</param>
    protected virtual void Configure(SimulatorOptions options)
    {
    }

    /// <summary>A client of the simulator; the fixture disposes it. Each call makes a new one.</summary>
    /// <param name="configure">Changes the options (e.g. a wrong key, a logger) before the client is made.</param>
    /// <returns>The client.</returns>
    public DecartClient CreateClient(Action<DecartClientOptions>? configure = null)
    {
        var options = ClientOptions;
        configure?.Invoke(options);
        var client = new DecartClient(options);
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>Waits for a realtime session (open or ended) that matches, the first one when no match is given.</summary>
    /// <param name="match">Which session; null for any. Asked again as sessions change, so it may test what arrives after
    /// the session starts (its prompt, its state, its frames).</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultTimeout"/> when null.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The simulator's view of the session: its state, prompt, history, frames in and out, warnings.</returns>
    /// <exception cref="TimeoutException">No such session came in time.</exception>
    public async Task<SimulatedSession> WaitForSessionAsync(Func<SimulatedSession, bool>? match = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        using var cts = Deadline(timeout, cancellationToken);
        try
        {
            if (match is null)
            {
                return await Simulator.Sessions.WaitForSessionAsync(null, cts.Token).ConfigureAwait(false);
            }

            // A session's prompt, state and frames arrive after it started, so the match is asked again until it holds
            // (every 20 ms, or as soon as another session starts), not only once when the session appears.
            var next = Simulator.Sessions.NextSessionAsync(cts.Token);
            while (true)
            {
                if (Simulator.Sessions.FirstOrDefault(match) is { } found)
                {
                    return found;
                }

                if (next.IsCompleted)
                {
                    next = Simulator.Sessions.NextSessionAsync(cts.Token);
                }

                await Task.WhenAny(next, Task.Delay(20, cts.Token)).ConfigureAwait(false);
                cts.Token.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No realtime session{(match is null ? "" : " that matches")} reached the simulator within {Limit(timeout).TotalSeconds:0.#} s.");
        }
    }

    /// <summary>Waits until a session meets a condition (e.g. it is generating, or it has shown 30 frames).</summary>
    /// <param name="session">The session.</param>
    /// <param name="condition">What to wait for; checked on every change of the session.</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultTimeout"/> when null.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>When the condition holds.</returns>
    /// <exception cref="TimeoutException">The condition did not hold in time.</exception>
    public async Task WaitUntilAsync(SimulatedSession session, Func<SimulatedSession, bool> condition, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(condition);
        using var cts = Deadline(timeout, cancellationToken);
        try
        {
            await session.WaitUntilAsync(condition, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Session {session.Id} did not reach the condition within {Limit(timeout).TotalSeconds:0.#} s (state {session.State}, {session.FramesIn} frames in, {session.FramesOut} out).");
        }
    }

    /// <summary>Waits until the session is generating (media connected, the model's frames flowing).</summary>
    /// <param name="session">The session.</param>
    /// <param name="timeout">How long to wait; <see cref="DefaultTimeout"/> when null.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>When it generates.</returns>
    /// <exception cref="TimeoutException">It did not start generating in time.</exception>
    public Task WaitUntilGeneratingAsync(SimulatedSession session, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(session, s => s.State == SessionPhase.Generating, timeout, cancellationToken);

    /// <summary>Injects a fault (a drop, latency, loss, a stall, an error…); dispose the handle to remove it.</summary>
    /// <param name="fault">The fault, as in a scenario file (see the simulator's docs).</param>
    /// <returns>A handle that removes the fault when disposed.</returns>
    /// <exception cref="InvalidFaultException">The fault is not valid; the message says which field.</exception>
    public FaultHandle InjectFault(Fault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        var added = Simulator.Faults.Add(fault);
        return new FaultHandle(Simulator.Faults, added);
    }

    /// <summary>Drops a session's connection the way a network would, so the client's reconnect can be tested.</summary>
    /// <param name="session">The session.</param>
    /// <param name="mode">The control socket, the media, or both (the default).</param>
    /// <param name="cancellationToken">Cancels the wait for the drop.</param>
    /// <returns>When the session was dropped.</returns>
    public Task DropAsync(SimulatedSession session, DropMode mode = DropMode.Both, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Simulator.DropAsync(session.Id, mode, cancellationToken);
    }

    /// <summary>Removes every fault, for a fixture shared by tests that inject them.</summary>
    public void Reset() => Simulator.Faults.Clear();

    /// <summary>Starts the simulator (xUnit calls this before the first test).</summary>
    /// <returns>When it listens.</returns>
    public async Task InitializeAsync()
    {
        var options = new SimulatorOptions { Port = 0 };
        Configure(options);
        _simulator = await DecartSimulator.StartAsync(options).ConfigureAwait(false);
    }

    /// <summary>Disposes the clients the fixture made and stops the simulator (xUnit calls this after the last test).</summary>
    /// <returns>When everything is closed.</returns>
    public async Task DisposeAsync()
    {
        DecartClient[] clients;
        lock (_clients)
        {
            clients = [.. _clients];
            _clients.Clear();
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }

        if (Interlocked.Exchange(ref _simulator, null) is { } simulator)
        {
            await simulator.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    private TimeSpan Limit(TimeSpan? timeout) => timeout ?? DefaultTimeout;

    private CancellationTokenSource Deadline(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(Limit(timeout));
        return cts;
    }
}

/// <summary>A fault injected by <see cref="DecartSimulatorFixture.InjectFault"/>; disposing it removes the fault.</summary>
public sealed class FaultHandle : IDisposable
{
    private readonly FaultSet _faults;

    internal FaultHandle(FaultSet faults, Fault fault)
    {
        _faults = faults;
        Fault = fault;
    }

    /// <summary>The fault as the simulator holds it (with its id).</summary>
    public Fault Fault { get; }

    /// <summary>Removes the fault (again: nothing).</summary>
    public void Dispose() => _faults.Remove(Fault.Id!);
}
