using System.Collections.Concurrent;
using System.Reflection;
using Decart.Sdk.Logging;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Faults;
using Microsoft.Extensions.Logging;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests;

/// <summary>Every log line of the SDK carries a stable EventId from <see cref="DecartLog"/>.</summary>
public class LogEventTests
{
    private static readonly Dictionary<int, string> Declared = typeof(DecartLog).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (EventId)f.GetValue(null)!).ToDictionary(e => e.Id, e => e.Name!);

    [Fact]
    public void Ids_and_names_are_unique_and_named_after_their_field()
    {
        var fields = typeof(DecartLog).GetFields(BindingFlags.Public | BindingFlags.Static);
        Assert.True(fields.Length >= 50, $"{fields.Length} events");
        Assert.Equal(fields.Length, Declared.Count);                        // no id twice
        Assert.Equal(fields.Length, Declared.Values.Distinct().Count());    // no name twice
        Assert.All(fields, f => Assert.Equal(f.Name, ((EventId)f.GetValue(null)!).Name));
        Assert.All(Declared.Keys, id => Assert.InRange(id, 1000, 2999));
    }

    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task A_session_with_a_drop_and_a_reconnect_logs_only_declared_events(RealtimeTransport transport)
    {
        var events = new ConcurrentQueue<(string Category, EventId Id, string Text)>();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new EventProvider(events)).SetMinimumLevel(LogLevel.Trace));
        await using var sim = await StartSimulatorAsync();
        using var client = new DecartClient(new DecartClientOptions { ApiKey = sim.DefaultApiKey, BaseUrl = sim.BaseUrl, RealtimeBaseUrl = sim.RealtimeBaseUrl }, loggerFactory: loggers);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using (var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Transport = transport, InitialState = new RealtimeState { Prompt = "logged" }, OnConnectionChanged = log.Add }))
        {
            await log.WaitForAsync(ConnectionState.Generating);
            await sim.DropAsync(rt.SessionId!, DropMode.WebSocket);
            await log.WaitForAsync(ConnectionState.Generating, occurrence: 2);
        }

        var sdk = events.Where(e => e.Category.StartsWith("Decart.Sdk", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(sdk);
        Assert.All(sdk, e => Assert.True(Declared.TryGetValue(e.Id.Id, out var name) && name == e.Id.Name, $"undeclared event {e.Id} for \"{e.Text}\""));
        Assert.Contains(sdk, e => e.Id == DecartLog.Connected);
        Assert.Contains(sdk, e => e.Id == DecartLog.Reconnecting);
        Assert.DoesNotContain(sdk, e => e.Text.Contains(sim.DefaultApiKey, StringComparison.Ordinal));
    }

    private sealed class EventProvider(ConcurrentQueue<(string, EventId, string)> events) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new EventLogger(categoryName, events);

        public void Dispose()
        {
        }

        private sealed class EventLogger(string category, ConcurrentQueue<(string, EventId, string)> events) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                events.Enqueue((category, eventId, formatter(state, exception)));
        }
    }
}
