using System.Diagnostics;
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
    private IvfFileSource? _source;
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
        b._source = await IvfFileSource.OpenAsync(Decart.Testing.RepositoryPaths.Clip("pattern-1088x624-30fps.ivf"), fps: 30, loop: true, cancellationToken: cancellationToken).ConfigureAwait(false);
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
            OnFrame = _ =>
            {
                Interlocked.Increment(ref b._frames);
                Interlocked.Exchange(ref b._lastFrame, Stopwatch.GetTimestamp());
            },
        }, cancellationToken).ConfigureAwait(false);
        return b;
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
