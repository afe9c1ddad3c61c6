using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Decart.Rtc.Transport;

/// <summary>
/// Up to <see cref="Capacity"/> datagrams in native memory, sent to one address with one <c>sendmmsg</c> call or
/// received with one <c>recvmmsg</c> call (Linux): a batch of a frame's packets (see <see cref="FrameFirstBatch"/>) costs
/// one kernel entry instead of one each, and with UDP segmentation offload a run of equal-sized packets crosses the
/// network stack once. Elsewhere, or when the kernel refuses the call, it falls back to one <see cref="Socket.SendTo(ReadOnlySpan{byte}, SocketFlags, System.Net.SocketAddress)"/>
/// per datagram (sending) or reports nothing drained (receiving), so callers behave the same on every platform.
/// </summary>
/// <remarks>
/// Not thread-safe: one owner fills, sends or drains it (the sender under its send lock, a receive loop on its own).
/// Nothing is allocated per datagram or per call.
/// </remarks>
internal sealed unsafe partial class DatagramBatch : IDisposable
{
    /// <summary>
    /// How a frame's packets leave: its first <see cref="FrameFirstBatch"/> as soon as they are protected, the rest
    /// <see cref="FrameLaterBatch"/> at a time. The receiver, asleep between frames, starts waking while the sender still
    /// protects, then works through the frame while the sender finishes it. One call for the whole frame made the receiver
    /// wait for the last packet's protection; one call per packet pays a system call each (suite 5, bench/README.md).
    /// </summary>
    public const int FrameFirstBatch = 4;

    /// <summary>Packets per system call after a frame's first <see cref="FrameFirstBatch"/>.</summary>
    public const int FrameLaterBatch = 16;

    /// <summary>Bytes per slot: room for any datagram the stack sends (≤ 1,500) and for what a receive may bring.</summary>
    public const int SlotSize = 2048;

    private const int NameSize = 128; // sockaddr_storage
    private const int MsgDontWait = 0x40;
    private const int MsgTrunc = 0x20;
    private const int EAgain = 11;
    private const int ENoSys = 38;
    private const int EInval = 22;
    private const int EIo = 5;
    private const int EOpNotSupp = 95;
    private const int ENoProtoOpt = 92;
    private const int SolUdp = 17;
    private const int UdpSegment = 103;
    private const int MaxSegments = 64;
    private const int MaxSegmentSize = 1452; // fits a 1,500-byte MTU under IPv6 and UDP headers
    private const int MaxSegmentedBytes = 65000; // one UDP datagram's worth before the kernel cuts it
    private const int ControlSpace = 24; // CMSG_SPACE(sizeof(uint16)) on 64-bit Linux
    private static int s_unsupported = OperatingSystem.IsLinux() ? 0 : 1;

    private readonly byte* _slots;
    private readonly MMsgHdr* _headers;
    private readonly IoVec* _vectors;
    private readonly byte* _names;
    private readonly byte* _control;
    private readonly int[] _firstOfMessage;
    private bool _segmentation;
    private int _disposed;

    /// <summary>Allocates the slots and the kernel's message headers.</summary>
    /// <param name="capacity">Datagrams per call (1–1,024).</param>
    /// <param name="segmentation">Whether to let the kernel cut runs of equal-sized datagrams (UDP segmentation offload) where it can.</param>
    public DatagramBatch(int capacity, bool segmentation = true)
    {
        _segmentation = segmentation && OperatingSystem.IsLinux() && IntPtr.Size == 8;
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1024);
        Capacity = capacity;
        _slots = (byte*)NativeMemory.AlignedAlloc((nuint)(capacity * SlotSize), 64);
        _headers = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(MMsgHdr));
        _vectors = (IoVec*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(IoVec));
        _names = (byte*)NativeMemory.AllocZeroed((nuint)capacity, NameSize);
        _control = (byte*)NativeMemory.AllocZeroed((nuint)capacity, ControlSpace);
        _firstOfMessage = new int[capacity + 1];
        for (int i = 0; i < capacity; i++)
        {
            _vectors[i].Base = _slots + (i * SlotSize); // the message headers are written per call: Group to send, Drain to receive
        }
    }

    /// <summary>Finalizer: the native memory is returned even when the owner forgot to dispose.</summary>
    ~DatagramBatch() => Free();

    /// <summary>Whether this platform sends and drains batches with one call (Linux); otherwise one call per datagram.</summary>
    public static bool IsNative => Volatile.Read(ref s_unsupported) == 0;

    /// <summary>
    /// Whether runs of equal-sized datagrams go to the kernel as one segmented message; false when not asked for, not
    /// on 64-bit Linux, or after the path refused it once (then every datagram is its own message).
    /// </summary>
    public bool Segmentation => _segmentation;

    /// <summary>How many datagrams one call carries.</summary>
    public int Capacity { get; }

    /// <summary>Datagrams filled and not yet sent, or drained by the last <see cref="Drain"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Whether <see cref="Dispose"/> has returned the native memory.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Whether every slot is filled: send before filling another.</summary>
    public bool IsFull => Count == Capacity;

    /// <summary>The next free slot to write a datagram into; <see cref="Commit"/> then says how long it is.</summary>
    public Span<byte> NextSlot
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (Count == Capacity)
            {
                throw new InvalidOperationException("the batch is full: send it first");
            }

            return new Span<byte>(_slots + (Count * SlotSize), SlotSize);
        }
    }

    /// <summary>Takes the datagram written at the start of <see cref="NextSlot"/>.</summary>
    /// <param name="length">Its length (1–<see cref="SlotSize"/>).</param>
    public void Commit(int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, SlotSize);
        if (Count == Capacity)
        {
            throw new InvalidOperationException("the batch is full: send it first");
        }

        _vectors[Count].Length = (nuint)length;
        Count++;
    }

    /// <summary>Copies a datagram into the next slot.</summary>
    /// <param name="datagram">Its bytes (1–<see cref="SlotSize"/>).</param>
    public void Add(ReadOnlySpan<byte> datagram)
    {
        datagram.CopyTo(NextSlot);
        Commit(datagram.Length);
    }

    /// <summary>The <paramref name="index"/>th datagram filled or drained.</summary>
    /// <param name="index">0 to <see cref="Count"/> − 1.</param>
    /// <returns>Its bytes, valid until the batch is next sent, drained or cleared.</returns>
    public Span<byte> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return new Span<byte>(_slots + (index * SlotSize), (int)_vectors[index].Length);
        }
    }

    /// <summary>Forgets the datagrams filled or drained.</summary>
    public void Clear() => Count = 0;

    /// <summary>
    /// Sends every datagram filled to <paramref name="to"/> — one <c>sendmmsg</c> on Linux, looping on a partial send —
    /// and clears the batch. A datagram the kernel will not take now (a full send buffer) goes through the socket's own
    /// send, which waits like every other send on it; a socket error drops the rest, as UDP may.
    /// </summary>
    /// <param name="socket">A UDP socket.</param>
    /// <param name="to">The destination, serialized.</param>
    /// <returns>How many datagrams the kernel took.</returns>
    public int Send(Socket socket, System.Net.SocketAddress to)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(to);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int count = Count;
        Count = 0;
        if (count == 0)
        {
            return 0;
        }

        int sent = 0;
        if (IsNative && to.Size <= NameSize)
        {
            try
            {
                sent = SendNative(socket, to, count, out bool lost);
                if (lost)
                {
                    return sent; // a socket error: the rest is lost, as SendTo's datagram would be
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                Volatile.Write(ref s_unsupported, 1); // no such call here: one send per datagram from now on
            }
        }

        try
        {
            for (; sent < count; sent++)
            {
                socket.SendTo(new ReadOnlySpan<byte>(_slots + (sent * SlotSize), (int)_vectors[sent].Length), SocketFlags.None, to);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The rest is lost, as a datagram may be.
        }

        return sent;
    }

    /// <summary>
    /// Takes every datagram already waiting on <paramref name="socket"/>, up to <see cref="Capacity"/>, with one
    /// non-blocking <c>recvmmsg</c> (Linux); returns 0 at once when nothing waits or the platform has no such call. The
    /// datagrams are then <see cref="this[int]"/> and their senders <see cref="CopySenderTo"/>.
    /// </summary>
    /// <param name="socket">A UDP socket.</param>
    /// <returns>How many datagrams were taken (0 when none were waiting); one longer than a slot is dropped, as a socket read into a buffer of that size would drop it.</returns>
    public int Drain(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        Count = 0;
        if (!IsNative)
        {
            return 0;
        }

        for (int i = 0; i < Capacity; i++)
        {
            _vectors[i].Length = SlotSize;
            _headers[i].Header.Iov = &_vectors[i];
            _headers[i].Header.IovLength = 1;
            _headers[i].Header.Control = null;
            _headers[i].Header.ControlLength = 0;
            _headers[i].Header.Name = _names + (i * NameSize);
            _headers[i].Header.NameLength = NameSize;
            _headers[i].Header.Flags = 0;
            _headers[i].Length = 0;
        }

        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            int n = RecvMMsg((int)socket.SafeHandle.DangerousGetHandle(), _headers, (uint)Capacity, MsgDontWait, null);
            if (n <= 0)
            {
                if (n < 0 && Marshal.GetLastPInvokeError() == ENoSys)
                {
                    Volatile.Write(ref s_unsupported, 1);
                }

                return 0;
            }

            int kept = 0;
            for (int i = 0; i < n; i++)
            {
                if ((_headers[i].Header.Flags & MsgTrunc) != 0)
                {
                    continue; // longer than a slot: cut short, it would only fail further up (ReceiveFrom drops these too)
                }

                if (kept != i)
                {
                    Buffer.MemoryCopy(_slots + (i * SlotSize), _slots + (kept * SlotSize), SlotSize, _headers[i].Length);
                    Buffer.MemoryCopy(_names + (i * NameSize), _names + (kept * NameSize), NameSize, NameSize);
                    _headers[kept].Header.NameLength = _headers[i].Header.NameLength;
                }

                _vectors[kept].Length = _headers[i].Length;
                kept++;
            }

            Count = kept;
            return kept;
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref s_unsupported, 1);
            return 0;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    /// <summary>Writes the sender of the <paramref name="index"/>th drained datagram into <paramref name="address"/>.</summary>
    /// <param name="index">0 to <see cref="Count"/> − 1.</param>
    /// <param name="address">An address of the socket's family; its size becomes the sender's.</param>
    /// <returns>False when the sender's address does not fit <paramref name="address"/>.</returns>
    public bool CopySenderTo(int index, System.Net.SocketAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int length = (int)_headers[index].Header.NameLength;
        var buffer = address.Buffer.Span;
        if (length <= 0 || length > buffer.Length)
        {
            return false;
        }

        new ReadOnlySpan<byte>(_names + (index * NameSize), length).CopyTo(buffer);
        address.Size = length;
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private int SendNative(Socket socket, System.Net.SocketAddress to, int count, out bool lost)
    {
        lost = false;

        // One copy of the destination for every message.
        to.Buffer.Span[..to.Size].CopyTo(new Span<byte>(_names, NameSize));
        int messages = Group(count, (uint)to.Size);
        int sentMessages = 0;
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            int fd = (int)socket.SafeHandle.DangerousGetHandle();
            while (sentMessages < messages)
            {
                int n = SendMMsg(fd, _headers + sentMessages, (uint)(messages - sentMessages), 0);
                if (n > 0)
                {
                    sentMessages += n;
                    continue;
                }

                int error = Marshal.GetLastPInvokeError();
                if (error == ENoSys)
                {
                    Volatile.Write(ref s_unsupported, 1); // the fallback sends the rest, and every later batch
                }
                else if (_segmentation && _headers[sentMessages].Header.IovLength > 1 && error is EInval or EIo or EOpNotSupp or ENoProtoOpt)
                {
                    _segmentation = false; // this path will not cut datagrams for us: whole messages from now on, the fallback sends the rest
                }
                else
                {
                    lost = error != EAgain; // unreachable, closed, wrong family: the rest is lost
                }

                break;
            }
        }
        catch (ObjectDisposedException)
        {
            lost = true;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }

        return _firstOfMessage[sentMessages];
    }

    /// <summary>
    /// Makes the messages for <c>sendmmsg</c>: with UDP segmentation offload (UDP_SEGMENT, Linux 4.18+), a run of
    /// equal-sized datagrams — a frame's packets, the last one shorter — is one message the kernel cuts into datagrams,
    /// so the run crosses the network stack once; otherwise one message per datagram.
    /// </summary>
    /// <returns>How many messages; <see cref="_firstOfMessage"/>[m] is the first datagram of message m.</returns>
    private int Group(int count, uint nameLength)
    {
        int messages = 0;
        for (int i = 0; i < count;)
        {
            int size = (int)_vectors[i].Length;
            int run = 1;
            if (_segmentation && size <= MaxSegmentSize)
            {
                int total = size;
                while (i + run < count && run < MaxSegments)
                {
                    int next = (int)_vectors[i + run].Length;
                    if (next > size || total + next > MaxSegmentedBytes)
                    {
                        break;
                    }

                    run++;
                    total += next;
                    if (next < size)
                    {
                        break; // only the last segment may be shorter
                    }
                }
            }

            ref var header = ref _headers[messages].Header;
            header.Name = _names;
            header.NameLength = nameLength;
            header.Iov = &_vectors[i];
            header.IovLength = (nuint)run;
            header.Flags = 0;
            if (run > 1)
            {
                var control = (CMsgHdr*)(_control + (messages * ControlSpace));
                control->Length = (nuint)(sizeof(CMsgHdr) + sizeof(ushort));
                control->Level = SolUdp;
                control->Type = UdpSegment;
                *(ushort*)(control + 1) = (ushort)size;
                header.Control = control;
                header.ControlLength = ControlSpace;
            }
            else
            {
                header.Control = null;
                header.ControlLength = 0;
            }

            _firstOfMessage[messages] = i;
            messages++;
            i += run;
        }

        _firstOfMessage[messages] = count;
        return messages;
    }

    private void Free()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        NativeMemory.AlignedFree(_slots);
        NativeMemory.Free(_headers);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_names);
        NativeMemory.Free(_control);
    }

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CMsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }
}
