using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Decart.Sdk.Media;

namespace Decart.Bench;

/// <summary>Wraps a source and remembers when each frame was handed to the SDK (by its RTP timestamp).</summary>
internal sealed class TimedSource(IVideoSource inner) : IVideoSource, IAsyncDisposable
{
    private readonly ConcurrentDictionary<uint, long> _sent = new();

    public VideoFormat Format => inner.Format;

    public VideoCodec Codec => inner.Codec;

    public FacingMode Facing => inner.Facing;

    public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var frame in inner.ReadFramesAsync(cancellationToken))
        {
            uint rtp = unchecked((uint)(frame.Timestamp.Ticks * 9 / 1000));
            _sent[rtp] = Stopwatch.GetTimestamp();
            if (_sent.Count > 300)
            {
                foreach (var old in _sent.Keys.Where(k => unchecked(rtp - k) > 90000 * 5).ToList())
                {
                    _sent.TryRemove(old, out _);
                }
            }

            yield return frame;
        }
    }

    public bool TryTakeSendTime(uint rtp, out long sent) => _sent.TryRemove(rtp, out sent);

    public void RequestKeyframe() => inner.RequestKeyframe();

    public ValueTask DisposeAsync() => inner is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;
}

/// <summary>The simulator as a child process on a free port.</summary>
internal sealed class SimulatorProcess : IDisposable
{
    private SimulatorProcess(Process process, string url)
    {
        Process = process;
        Url = url;
    }

    public Process Process { get; }

    public string Url { get; }

    public static SimulatorProcess Start(string modelMode)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Decart.Simulator.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--port");
        info.ArgumentList.Add("0");
        info.ArgumentList.Add("--model-mode");
        info.ArgumentList.Add(modelMode);
        var process = Process.Start(info)!;
        var first = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the simulator did not start");
        _ = Task.Run(() => process.StandardOutput.ReadToEnd());
        return new SimulatorProcess(process, first["Decart simulator listening on ".Length..]);
    }

    /// <summary>User + system CPU time of the simulator process, from /proc.</summary>
    public TimeSpan CpuTime()
    {
        Process.Refresh();
        return Process.TotalProcessorTime;
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        Process.Dispose();
    }
}
