using System.Net;
using System.Net.Sockets;

namespace Decart.Benchmarks.FramePath;

/// <summary>
/// The baselines of suites 5 and 6: the same datagrams (count and sizes) over plain UDP sockets on loopback, with the
/// receiving side built like the stack's own (one task looping on the allocation-free <see cref="Socket.ReceiveFromAsync(Memory{byte}, SocketFlags, SocketAddress, CancellationToken)"/>,
/// copying each datagram's bytes into a frame buffer). With <c>echo</c>, a third socket sends every datagram straight
/// back, as a bare UDP echo server would. With <c>batched</c>, the sockets use what the stack's frame path uses: a
/// frame's datagrams leave in a few <c>sendmmsg</c> calls (its first 4, then 16 at a time), and after each awaited datagram whatever else waits is taken with one
/// <c>recvmmsg</c> (<see cref="Decart.Rtc.Transport.DatagramBatch"/>). A frame is complete when all its datagrams have arrived.
/// </summary>
public sealed class PlainUdpPath : IAsyncDisposable
{
    private readonly Socket _sender = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _receiver = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket? _echo;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _frameDone = new(0);
    private readonly byte[] _datagram = new byte[1500];
    private readonly byte[] _frame = new byte[4 * 1024 * 1024];
    private readonly SocketAddress _target;
    private readonly List<Task> _loops = [];
    private readonly Decart.Rtc.Transport.DatagramBatch? _sendBatch;
    private readonly bool _batched;
    private int _expected;
    private int _received;
    private int _offset;

    /// <summary>Binds the sockets and starts the receive (and echo) loops.</summary>
    /// <param name="echo">Send to an echo socket and receive its echo, instead of sending straight to the receiver.</param>
    /// <param name="batched">Send a frame's datagrams in the stack's batches and drain what waits with one call, as the stack does.</param>
    public PlainUdpPath(bool echo, bool batched = false)
    {
        _batched = batched;
        _sendBatch = batched ? new Decart.Rtc.Transport.DatagramBatch(Decart.Rtc.Transport.DatagramBatch.FrameLaterBatch) : null; // as the stack's
        var loopback = new IPEndPoint(IPAddress.Loopback, 0);
        // The same receive buffers as the stack's sockets (IceOptions.ReceiveBufferSize), so only the stack's own work differs.
        _receiver.ReceiveBufferSize = _sender.ReceiveBufferSize = Decart.Rtc.Ice.IceOptions.DefaultReceiveBufferSize;
        _receiver.Bind(loopback);
        if (echo)
        {
            // The sender's own socket receives the echo (a client talking to an echo server).
            _sender.Bind(loopback);
            _echo = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = Decart.Rtc.Ice.IceOptions.DefaultReceiveBufferSize };
            _echo.Bind(loopback);
            _target = _echo.LocalEndPoint!.Serialize();
            _loops.Add(Task.Run(() => EchoLoopAsync(_echo)));
            _loops.Add(Task.Run(() => ReceiveLoopAsync(_sender)));
        }
        else
        {
            _target = _receiver.LocalEndPoint!.Serialize();
            _loops.Add(Task.Run(() => ReceiveLoopAsync(_receiver)));
        }
    }

    /// <summary>Sends datagrams of the given sizes and waits until all have arrived.</summary>
    /// <param name="sizes">Datagram sizes (≤ 1,500).</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="layers">How many of <paramref name="sizes"/> each simulcast layer's frame has, in order (the stack
    /// sends each layer's frame by itself, its batches starting over); empty: one frame.</param>
    /// <returns>False on a timeout (a lost datagram).</returns>
    public bool SendFrameAndWait(ReadOnlySpan<int> sizes, TimeSpan timeout, ReadOnlySpan<int> layers = default)
    {
        Volatile.Write(ref _received, 0);
        Volatile.Write(ref _expected, sizes.Length);
        int layer = 0;
        int layerEnd = layers.IsEmpty ? sizes.Length : layers[0];
        bool firstSent = false;
        for (int i = 0; i < sizes.Length; i++)
        {
            if (_sendBatch is null)
            {
                _sender.SendTo(_datagram.AsSpan(0, sizes[i]), SocketFlags.None, _target);
                continue;
            }

            if (i == layerEnd)
            {
                _sendBatch.Send(_sender, _target); // the previous layer's frame is done: its rest leaves, batches start over
                firstSent = false;
                layerEnd += layers[++layer];
            }

            // The stack's pattern: the first few at once, then in batches (DatagramBatch.FrameFirstBatch / FrameLaterBatch).
            if (_sendBatch.IsFull || (!firstSent && _sendBatch.Count == Decart.Rtc.Transport.DatagramBatch.FrameFirstBatch))
            {
                _sendBatch.Send(_sender, _target);
                firstSent = true;
            }

            _sendBatch.Add(_datagram.AsSpan(0, sizes[i])); // the stack writes each packet into its slot too
        }

        _sendBatch?.Send(_sender, _target);

        if (_frameDone.Wait(timeout))
        {
            return true;
        }

        Volatile.Write(ref _expected, int.MaxValue); // late datagrams of this frame must not complete the next one
        return false;
    }

    private async Task ReceiveLoopAsync(Socket socket)
    {
        var buffer = new byte[2048];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        using var drain = _batched ? new Decart.Rtc.Transport.DatagramBatch(32) : null;
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            Take(buffer.AsSpan(0, n));
            while (drain is not null && drain.Drain(socket) is int count and > 0)
            {
                for (int i = 0; i < count; i++)
                {
                    drain.CopySenderTo(i, from); // as the stack does: it checks each sender
                    Take(drain[i]);
                }

                if (count < drain.Capacity)
                {
                    break;
                }
            }
        }
    }

    private void Take(ReadOnlySpan<byte> datagram)
    {
        if (_offset + datagram.Length > _frame.Length)
        {
            _offset = 0;
        }

        datagram.CopyTo(_frame.AsSpan(_offset));
        _offset += datagram.Length;
        if (++_received == Volatile.Read(ref _expected))
        {
            _offset = 0;
            _frameDone.Release();
        }
    }

    private async Task EchoLoopAsync(Socket socket)
    {
        var buffer = new byte[2048];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                int n = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token).ConfigureAwait(false);
                socket.SendTo(buffer.AsSpan(0, n), SocketFlags.None, from);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _sender.Dispose();
        _receiver.Dispose();
        _echo?.Dispose();
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _stop.Dispose();
        _frameDone.Dispose();
        _sendBatch?.Dispose();
    }
}
