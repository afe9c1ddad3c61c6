using System.Net;
using Decart.Rtc.Codecs;
using Decart.Rtc.Dtls;
using Decart.Rtc.Ice;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;
using Decart.Rtc.Srtp;
using Decart.Rtc.Tests.Codecs;
using Decart.Rtc.Transport;

namespace Decart.Rtc.Tests;

/// <summary>
/// The layers composed over real loopback UDP: ICE (full controlling ↔ lite) → RFC 7983 demux → DTLS / SRTP → RTP/VP8 → frame
/// assembly, with NACK retransmission from the send buffer. The PeerConnection façade will wrap exactly this.
/// </summary>
public sealed class StackTests
{
    private const uint MediaSsrc = 0x0A0B0C0D;
    private const uint ReceiverSsrc = 0x01010101;

    private sealed class Side : IAsyncDisposable
    {
        public IceAgent Ice { get; init; } = null!;

        public PacketDemux Demux { get; set; } = null!;

        public DtlsTransport Dtls { get; set; } = null!;

        public SrtpSession Srtp { get; set; } = null!;

        public async ValueTask DisposeAsync()
        {
            await Dtls.DisposeAsync();
            Demux.Dispose();
            await Ice.DisposeAsync();
            Srtp?.Dispose();
        }
    }

    private static async Task<(Side Client, Side Server)> ConnectAsync(SrtpProfile profile)
    {
        var clientCert = DtlsCertificate.Generate();
        var serverCert = DtlsCertificate.Generate();
        var client = new Side { Ice = new IceAgent(new IceOptions { Controlling = true, Addresses = [IPAddress.Loopback] }) };
        var server = new Side { Ice = new IceAgent(new IceOptions { Lite = true, Addresses = [IPAddress.Loopback] }) };
        await client.Ice.StartAsync();
        await server.Ice.StartAsync();
        client.Ice.SetRemoteCredentials(server.Ice.LocalUfrag, server.Ice.LocalPassword);
        server.Ice.SetRemoteCredentials(client.Ice.LocalUfrag, client.Ice.LocalPassword);
        foreach (var c in server.Ice.LocalCandidates)
        {
            await client.Ice.AddRemoteCandidateAsync(c);
        }

        // DTLS transports subscribe before ICE connects so no early record is missed.
        client.Demux = new PacketDemux(client.Ice);
        server.Demux = new PacketDemux(server.Ice);
        client.Dtls = new DtlsTransport(client.Demux.Dtls, DtlsRole.Client, serverCert.Fingerprint, clientCert, [profile]);
        server.Dtls = new DtlsTransport(server.Demux.Dtls, DtlsRole.Server, clientCert.Fingerprint, serverCert, [profile]);
        await Task.WhenAll(client.Ice.ConnectedAsync(), server.Ice.ConnectedAsync()).WaitAsync(TimeSpan.FromSeconds(20));
        var keys = await Task.WhenAll(client.Dtls.HandshakeAsync(), server.Dtls.HandshakeAsync()).WaitAsync(TimeSpan.FromSeconds(20));
        client.Srtp = new SrtpSession(keys[0]);
        server.Srtp = new SrtpSession(keys[1]);
        return (client, server);
    }

    [Theory]
    [InlineData(SrtpProfile.AeadAes128Gcm, 0.0)]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80, 0.0)]
    [InlineData(SrtpProfile.AeadAes128Gcm, 0.05)]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80, 0.05)]
    public async Task Three_hundred_vp8_frames_arrive_bit_exact_and_in_order_over_ice_dtls_srtp(SrtpProfile profile, double loss)
    {
        var (client, server) = await ConnectAsync(profile);
        await using var c = client;
        await using var s = server;
        var clip = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        // 300 frames are checked; 10 more follow, as a live stream would, so that a loss in the last frames is
        // noticed (a receiver only sees a gap once a later packet arrives).
        var frames = Enumerable.Range(0, 310).Select(i => clip[i % clip.Count]).ToList();

        // Receiver (server): unprotect → NACK tracking → assemble.
        var assembler = new FrameAssembler(RtpCodec.Vp8, reorderWindow: 512);
        var nacks = new NackGenerator();
        var received = new List<(byte[] Frame, uint Ts)>();
        var gate = new object();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Demux.MediaReceived += datagram =>
        {
            if (RtpHeader.IsRtcp(datagram))
            {
                return;
            }

            var buffer = datagram.ToArray();
            if (server.Srtp.Inbound.UnprotectRtp(buffer, buffer.Length, out int n) != SrtpError.None || !RtpHeader.TryParse(buffer.AsSpan(0, n), out var h, out _))
            {
                return;
            }

            lock (gate)
            {
                nacks.OnReceived(h.SequenceNumber);
                assembler.Push(h.SequenceNumber, h.Timestamp, h.Marker, h.Payload(buffer.AsSpan(0, n)), (f, ts, _) =>
                {
                    received.Add((f.ToArray(), ts));
                    if (received.Count >= 300)
                    {
                        all.TrySetResult();
                    }
                });
            }
        };

        // Sender (client): a send buffer answers NACKs; the impairment drops `loss` of every RTP send.
        var sendBuffer = new RtpSendBuffer();
        var rng = new Random(1234);
        int dropped = 0, retransmitted = 0;
        void SendRtp(ReadOnlySpan<byte> plain)
        {
            var packet = new byte[plain.Length + 16];
            plain.CopyTo(packet);
            lock (rng)
            {
                client.Srtp.Outbound.ProtectRtp(packet, plain.Length, out int p);
                if (rng.NextDouble() < loss)
                {
                    dropped++;
                    return;
                }

                client.Ice.Send(packet.AsSpan(0, p));
            }
        }

        client.Demux.MediaReceived += datagram =>
        {
            if (!RtpHeader.IsRtcp(datagram))
            {
                return;
            }

            var buffer = datagram.ToArray();
            if (client.Srtp.Inbound.UnprotectRtcp(buffer, buffer.Length, out int n) != SrtpError.None)
            {
                return;
            }

            ReadOnlySpan<byte> rest = buffer.AsSpan(0, n);
            Span<ushort> lost = stackalloc ushort[256];
            while (RtcpPacket.TryReadNext(ref rest, out var rtcp, out _))
            {
                int count = rtcp.GetNackedSequences(lost);
                for (int i = 0; i < count; i++)
                {
                    if (sendBuffer.TryGet(lost[i], out var original))
                    {
                        Interlocked.Increment(ref retransmitted);
                        SendRtp(original);
                    }
                }
            }
        };

        using var stopNacks = new CancellationTokenSource();
        var nackLoop = Task.Run(async () =>
        {
            var seqs = new ushort[256];
            var rtcp = new byte[1500];
            while (!stopNacks.IsCancellationRequested)
            {
                await Task.Delay(15);
                int count;
                lock (gate)
                {
                    count = nacks.CollectNacks(seqs);
                }

                if (count > 0)
                {
                    int length = RtcpWriter.WriteNack(rtcp, ReceiverSsrc, MediaSsrc, seqs.AsSpan(0, Math.Min(count, 100)));
                    if (server.Srtp.Outbound.ProtectRtcp(rtcp, length, out int p) == SrtpError.None)
                    {
                        server.Ice.Send(rtcp.AsSpan(0, p));
                    }
                }
            }
        });

        ushort seq = 1;
        var payload = new byte[1200];
        var packetBuffer = new byte[1300];
        for (int i = 0; i < frames.Count; i++)
        {
            var packetizer = new Vp8Packetizer(frames[i], 1100, (ushort)i);
            while (packetizer.TryWriteNext(payload, out int n, out bool last))
            {
                int length = new RtpWriter(packetBuffer, 96, seq, (uint)(i * 3000), MediaSsrc, last).WritePayload(payload.AsSpan(0, n));
                sendBuffer.Store(seq, packetBuffer.AsSpan(0, length));
                SendRtp(packetBuffer.AsSpan(0, length));
                seq++;
            }

            if (i % 10 == 9)
            {
                await Task.Delay(5);
            }
        }

        await Task.WhenAny(all.Task, Task.Delay(TimeSpan.FromSeconds(20)));
        stopNacks.Cancel();
        await nackLoop;

        lock (gate)
        {
            Assert.True(received.Count >= 300, $"received {received.Count}/300 frames; dropped {dropped} packets, retransmitted {retransmitted}, assembler dropped {assembler.FramesDropped}, NACK gave up {nacks.GivenUp}");
            for (int i = 0; i < 300; i++)
            {
                Assert.Equal((uint)(i * 3000), received[i].Ts);
                Assert.Equal(frames[i], received[i].Frame);
            }
        }

        if (loss > 0)
        {
            Assert.True(dropped > 0 && retransmitted >= dropped - 5, $"dropped {dropped}, retransmitted {retransmitted}");
        }
    }
}
