using BenchmarkDotNet.Attributes;
using Decart.Rtc.Rtp;
using Decart.Rtc.Srtp;

namespace Decart.Benchmarks.Rtp;

/// <summary>
/// Suite 1 (our side): SRTP protect and unprotect per packet, both profiles, 200 B and 1,200 B payloads.
/// Unprotect runs on a fresh copy of a protected packet each time with a sequence number that keeps
/// increasing, so the replay window never rejects it. The libsrtp2 baseline is the benchmark issue's.
/// </summary>
[MemoryDiagnoser]
public class SrtpBenchmarks
{
    private SrtpContext _sender = null!;
    private SrtpContext _receiver = null!;
    private SrtpContext _protectOnly = null!;
    private byte[] _plain = null!;
    private byte[] _work = null!;
    private int _plainLength;
    private ushort _sequence;

    /// <summary>The SRTP profile.</summary>
    [Params(SrtpProfile.Aes128CmHmacSha1_80, SrtpProfile.AeadAes128Gcm)]
    public SrtpProfile Profile { get; set; }

    /// <summary>Payload size in bytes.</summary>
    [Params(200, 1200)]
    public int PayloadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var salt = Enumerable.Range(0, Profile.SaltLength()).Select(i => (byte)(i + 100)).ToArray();
        _sender = SrtpContext.Create(Profile, key, salt);
        _receiver = SrtpContext.Create(Profile, key, salt);
        _protectOnly = SrtpContext.Create(Profile, key, salt);
        _plain = new byte[1500];
        var w = new RtpWriter(_plain, 96, 0, 0, 0x1234, false);
        w.AddExtension(3, [1, 2, 3]);
        _plainLength = w.WritePayload(new byte[PayloadSize]);
        _work = new byte[1500];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.Dispose();
        _receiver.Dispose();
        _protectOnly.Dispose();
    }

    [Benchmark]
    public int Protect()
    {
        _plain.AsSpan(0, _plainLength).CopyTo(_work);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_work.AsSpan(2), _sequence++);
        _protectOnly.ProtectRtp(_work, _plainLength, out int n);
        return n;
    }

    [Benchmark]
    public int ProtectThenUnprotect()
    {
        _plain.AsSpan(0, _plainLength).CopyTo(_work);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_work.AsSpan(2), _sequence++);
        _sender.ProtectRtp(_work, _plainLength, out int n);
        _receiver.UnprotectRtp(_work, n, out int m);
        return m;
    }
}

/// <summary>Suite 2 (part): RTP header parse and write with header extensions, and the NACK send-buffer lookup.</summary>
[MemoryDiagnoser]
public class RtpBenchmarks
{
    private readonly byte[] _packet = new byte[1500];
    private readonly byte[] _payload = new byte[1100];
    private readonly RtpSendBuffer _buffer = new();
    private int _length;
    private ushort _sequence;

    [GlobalSetup]
    public void Setup()
    {
        var w = new RtpWriter(_packet, 96, 1000, 90000, 0x1234, true);
        w.AddExtension(1, [1, 2, 3]);
        w.AddExtension(3, [4, 5]);
        _length = w.WritePayload(_payload);
        for (ushort s = 0; s < 1024; s++)
        {
            _buffer.Store(s, _packet.AsSpan(0, _length));
        }
    }

    [Benchmark(Baseline = true)]
    public int Parse()
    {
        RtpHeader.TryParse(_packet.AsSpan(0, _length), out var h, out _);
        h.TryGetExtension(_packet.AsSpan(0, _length), 3, out var ext);
        return h.PayloadLength + ext.Length;
    }

    [Benchmark]
    public int Write()
    {
        var w = new RtpWriter(_packet, 96, _sequence++, 90000, 0x1234, true);
        w.AddExtension(1, [1, 2, 3]);
        w.AddExtension(3, [4, 5]);
        return w.WritePayload(_payload);
    }

    [Benchmark]
    public int NackLookup()
    {
        _buffer.TryGet((ushort)(_sequence++ & 1023), out var packet);
        return packet.Length;
    }
}
