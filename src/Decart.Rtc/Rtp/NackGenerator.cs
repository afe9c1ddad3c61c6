namespace Decart.Rtc.Rtp;

/// <summary>
/// Receive side of generic NACK (RFC 4585): notices gaps in the sequence numbers of one SSRC and says which
/// packets to ask for again, each up to <see cref="MaxRetries"/> times. Memory is bounded (at most
/// <see cref="MaxPending"/> missing packets are tracked; older ones are given up).
/// </summary>
internal sealed class NackGenerator
{
    private readonly ushort[] _pending;
    private readonly byte[] _retries;
    private int _count;
    private bool _started;
    private ushort _highest;

    /// <summary>Creates a generator.</summary>
    /// <param name="maxPending">Most missing packets tracked.</param>
    /// <param name="maxRetries">NACKs per missing packet before giving up.</param>
    public NackGenerator(int maxPending = 256, int maxRetries = 10)
    {
        _pending = new ushort[maxPending];
        _retries = new byte[maxPending];
        MaxPending = maxPending;
        MaxRetries = maxRetries;
    }

    /// <summary>Most missing packets tracked.</summary>
    public int MaxPending { get; }

    /// <summary>NACKs per missing packet.</summary>
    public int MaxRetries { get; }

    /// <summary>Missing packets currently tracked.</summary>
    public int PendingCount => _count;

    /// <summary>Packets given up on (too many retries, or too many missing at once).</summary>
    public long GivenUp { get; private set; }

    /// <summary>Records a received packet.</summary>
    /// <param name="sequenceNumber">Its sequence number.</param>
    public void OnReceived(ushort sequenceNumber)
    {
        if (!_started)
        {
            _started = true;
            _highest = sequenceNumber;
            return;
        }

        if (SequenceNumber.IsNewer(sequenceNumber, _highest))
        {
            int gap = SequenceNumber.Distance(_highest, sequenceNumber) - 1;
            if (gap > MaxPending)
            {
                GivenUp += gap;
                _count = 0;
                gap = 0;
            }

            for (int i = 1; i <= gap; i++)
            {
                Add((ushort)(_highest + i));
            }

            _highest = sequenceNumber;
            return;
        }

        Remove(sequenceNumber); // a late or retransmitted packet filled a gap
    }

    /// <summary>Writes the sequence numbers to NACK now (and counts a retry for each).</summary>
    /// <param name="destination">Where to write.</param>
    /// <returns>How many were written.</returns>
    public int CollectNacks(Span<ushort> destination)
    {
        int n = 0;
        for (int i = 0; i < _count && n < destination.Length;)
        {
            if (_retries[i] >= MaxRetries)
            {
                GivenUp++;
                RemoveAt(i);
                continue;
            }

            _retries[i]++;
            destination[n++] = _pending[i];
            i++;
        }

        return n;
    }

    private void Add(ushort seq)
    {
        if (_count == _pending.Length)
        {
            GivenUp++;
            RemoveAt(0);
        }

        _pending[_count] = seq;
        _retries[_count] = 0;
        _count++;
    }

    private void Remove(ushort seq)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_pending[i] == seq)
            {
                RemoveAt(i);
                return;
            }
        }
    }

    private void RemoveAt(int index)
    {
        Array.Copy(_pending, index + 1, _pending, index, _count - index - 1);
        Array.Copy(_retries, index + 1, _retries, index, _count - index - 1);
        _count--;
    }
}
