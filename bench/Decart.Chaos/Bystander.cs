using System.Diagnostics;
using Decart.Bench;
using Decart.Sdk;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;

namespace Decart.Chaos;

/// <summary>An ordinary SDK session that lives through the campaign: every attack must leave it generating.</summary>
internal sealed class Bystander : IAsyncDisposable
{
    private readonly List<ConnectionState> _states = [];
    private readonly List<DecartException> _errors = [];
    private DecartClient? _client;
    private TimedSource? _source;
    private readonly Queue<(long At, double Ms)> _latencies = new();
    private RealtimeClient? _rt;
    private long _frames;
    private long _lastFrame;

    public IReadOnlyList<ConnectionState> States
    {
        get
        {
            lock (_states)
            {
                return [.. _states];
            }
        }
    }

    public IReadOnlyList<DecartException> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    public long Frames => Interlocked.Read(ref _frames);

    public string? SessionId => _rt?.SessionId;

    public ConnectionState State => _rt?.State ?? ConnectionState.Disconnected;

    public static async Task<Bystander> StartAsync(string url, string key, ReconnectPolicy? reconnect = null, CancellationToken cancellationToken = default)
    {
        var b = new Bystander();
        b._client = new DecartClient(new DecartClientOptions { ApiKey = key, BaseUrl = new Uri(url), RealtimeBaseUrl = new Uri(url.Replace("http://", "ws://", StringComparison.Ordinal)) });
        b._source = new TimedSource(await IvfFileSource.OpenAsync(Decart.Testing.RepositoryPaths.Clip("pattern-1088x624-30fps.ivf"), fps: 30, loop: true, cancellationToken: cancellationToken).ConfigureAwait(false));
        b._rt = await b._client.Realtime.ConnectAsync(b._source, new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            InitialState = new RealtimeState { Prompt = "bystander" },
            Reconnect = reconnect ?? ReconnectPolicy.Default,
            OnConnectionChanged = s =>
            {
                lock (b._states)
                {
                    b._states.Add(s);
                }
            },
            OnError = e =>
            {
                lock (b._errors)
                {
                    b._errors.Add(e);
                }
            },
            OnFrame = f =>
            {
                long now = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref b._frames);
                Interlocked.Exchange(ref b._lastFrame, now);
                if (b._source!.TryTakeSendTime(f.RtpTimestamp, out long sent))
                {
                    lock (b._latencies)
                    {
                        if (b._latencies.Count == 20_000)
                        {
                            b._latencies.Dequeue();
                        }

                        b._latencies.Enqueue((now, Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds));
                    }
                }
            },
        }, cancellationToken).ConfigureAwait(false);
        return b;
    }

    /// <summary>Glass-to-glass percentile (send → echoed frame assembled, ms) over the last <paramref name="window"/>, or NaN.</summary>
    public double Percentile(double p, TimeSpan window) => Percentile(Latencies(window).Order().ToArray(), p);

    /// <summary>The percentile of sorted values, or NaN for none.</summary>
    public static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];

    /// <summary>Glass-to-glass samples (ms) of the last <paramref name="window"/>.</summary>
    public double[] Latencies(TimeSpan window)
    {
        long from = Stopwatch.GetTimestamp() - (long)(window.TotalSeconds * Stopwatch.Frequency);
        lock (_latencies)
        {
            return _latencies.Where(l => l.At >= from).Select(l => l.Ms).ToArray();
        }
    }

    /// <summary>Whether frames arrived within the last <paramref name="window"/>.</summary>
    public bool Flowing(TimeSpan window) => Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastFrame)) < window;

    /// <summary>Waits until frames flow (or the bound passes).</summary>
    public async Task<bool> WaitFlowingAsync(TimeSpan bound)
    {
        var until = Stopwatch.GetTimestamp() + (long)(bound.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            if (Flowing(TimeSpan.FromSeconds(1)))
            {
                return true;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_rt is not null)
        {
            await _rt.DisposeAsync().ConfigureAwait(false);
        }

        if (_source is not null)
        {
            await _source.DisposeAsync().ConfigureAwait(false);
        }

        _client?.Dispose();
    }
}
