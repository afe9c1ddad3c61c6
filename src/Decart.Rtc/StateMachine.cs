using System.Runtime.CompilerServices;

namespace Decart.Rtc;

/// <summary>
/// The state of a peer connection, an ICE agent or a DTLS transport, moved atomically: a move is a compare-and-swap,
/// so of two threads moving at once exactly one wins and reports the change. <em>Terminal</em> states (Failed) can only
/// be left for the <em>final</em> state (Closed), which is never left: a <c>Connected</c> racing a <c>Close</c> can
/// never overwrite it.
/// </summary>
/// <typeparam name="TState">An int-based state enum.</typeparam>
internal sealed class StateMachine<TState>
    where TState : struct, Enum
{
    private readonly int _terminal;
    private readonly int _final;
    private int _value;

    /// <summary>Starts in <paramref name="initial"/>.</summary>
    /// <param name="initial">The first state.</param>
    /// <param name="terminal">The state left only for <paramref name="final"/> (Failed).</param>
    /// <param name="final">The state never left (Closed).</param>
    public StateMachine(TState initial, TState terminal, TState final)
    {
        _value = ToInt(initial);
        _terminal = ToInt(terminal);
        _final = ToInt(final);
    }

    /// <summary>The current state.</summary>
    public TState Current
    {
        get
        {
            int value = Volatile.Read(ref _value);
            return Unsafe.As<int, TState>(ref value);
        }
    }

    /// <summary>Moves to <paramref name="next"/> unless the state is already there, or is final, or is terminal and <paramref name="next"/> is not final.</summary>
    /// <param name="next">The state to move to.</param>
    /// <returns>Whether this call made the move (the caller then reports it, once).</returns>
    public bool TryMove(TState next)
    {
        int target = ToInt(next);
        while (true)
        {
            int current = Volatile.Read(ref _value);
            if (current == target || current == _final || (current == _terminal && target != _final))
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _value, target, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Moves to <paramref name="next"/> only from <paramref name="expected"/>.</summary>
    /// <param name="expected">The state it must be in.</param>
    /// <param name="next">The state to move to.</param>
    /// <returns>Whether it moved.</returns>
    public bool TryMove(TState expected, TState next) =>
        Interlocked.CompareExchange(ref _value, ToInt(next), ToInt(expected)) == ToInt(expected);

    private static int ToInt(TState state) => Unsafe.As<TState, int>(ref state);
}
