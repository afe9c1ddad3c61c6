using Decart.Analyzers.CodeFixes;
using Decart.Analyzers.Rules;

namespace Decart.Analyzers.Tests;

public class UndisposedClientTests
{
    private const string Prelude = """
        public class Session
        {
            private readonly DecartClient client = new(new DecartClientOptions());
            private readonly IVideoSource source = null!;
            private readonly RealtimeConnectOptions options = new() { Model = RealtimeModels.Lucy21, OnError = e => { } };

        """;

    [Fact]
    public Task A_client_never_disposed_is_flagged() => Verify.AnalyzerAsync<UndisposedClientAnalyzer>(Prelude + """
            public async Task RunAsync()
            {
                var {|DECART001:rt = await client.Realtime.ConnectAsync(source, options)|};
                await rt.SetPromptAsync("anime style");
            }
        }
        """);

    [Fact]
    public Task Disposing_outside_a_finally_is_not_every_path() => Verify.AnalyzerAsync<UndisposedClientAnalyzer>(Prelude + """
            public async Task RunAsync()
            {
                var {|DECART001:rt = await client.Realtime.ConnectAsync(source, options)|};
                await rt.SetPromptAsync("anime style");
                await rt.DisconnectAsync();
            }
        }
        """);

    [Fact]
    public Task A_discarded_client_is_flagged() => Verify.AnalyzerAsync<UndisposedClientAnalyzer>(Prelude + """
            public async Task RunAsync()
            {
                {|DECART001:await client.Realtime.ConnectAsync(source, options);|}
            }
        }
        """);

    [Fact]
    public Task Await_using_a_finally_and_escapes_are_fine() => Verify.AnalyzerAsync<UndisposedClientAnalyzer>(Prelude + """
            private RealtimeClient? kept;

            public async Task UsingAsync()
            {
                await using var rt = await client.Realtime.ConnectAsync(source, options);
                await rt.SetPromptAsync("anime style");
            }

            public async Task UsingStatementAsync()
            {
                await using (var rt = await client.Realtime.ConnectAsync(source, options))
                {
                    await rt.SetPromptAsync("anime style");
                }
            }

            public async Task FinallyAsync()
            {
                var rt = await client.Realtime.ConnectAsync(source, options);
                try
                {
                    await rt.SetPromptAsync("anime style");
                }
                finally
                {
                    await rt.DisposeAsync();
                }
            }

            public async Task ConditionalFinallyAsync()
            {
                RealtimeClient? rt = null;
                try
                {
                    rt = await client.Realtime.ConnectAsync(source, options);
                }
                finally
                {
                    await (rt?.DisconnectAsync() ?? Task.CompletedTask);
                }
            }

            public async Task<RealtimeClient> ReturnedAsync()
            {
                var rt = await client.Realtime.ConnectAsync(source, options);
                return rt;
            }

            public Task<RealtimeClient> ReturnedDirectly() => client.Realtime.ConnectAsync(source, options);

            public async Task HandedOnAsync()
            {
                var rt = await client.Realtime.ConnectAsync(source, options);
                Register(rt);
            }

            public async Task StoredAsync()
            {
                var rt = await client.Realtime.ConnectAsync(source, options);
                kept = rt;
            }

            public async ValueTask DisposeAsync()
            {
                if (kept is not null)
                {
                    await kept.DisposeAsync();
                }
            }

            private static void Register(RealtimeClient client) { }
        }
        """);

    [Fact]
    public Task A_field_its_type_never_disposes_is_flagged_and_one_it_disposes_is_not() => Verify.AnalyzerAsync<UndisposedClientAnalyzer>("""
        public class Leaky
        {
            private RealtimeClient? {|DECART001:client|};

            public async Task StartAsync(DecartClient api, IVideoSource source, RealtimeConnectOptions options) =>
                client = await api.Realtime.ConnectAsync(source, options);
        }

        public sealed class Owner : IAsyncDisposable
        {
            private RealtimeClient? client;

            public async Task StartAsync(DecartClient api, IVideoSource source, RealtimeConnectOptions options) =>
                client = await api.Realtime.ConnectAsync(source, options);

            public async ValueTask DisposeAsync()
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }

        public sealed class ConditionalOwner : IAsyncDisposable
        {
            private RealtimeClient? client;

            public async Task StartAsync(DecartClient api, IVideoSource source, RealtimeConnectOptions options) =>
                client = await api.Realtime.ConnectAsync(source, options);

            public async ValueTask DisposeAsync() => await (client?.DisconnectAsync() ?? Task.CompletedTask);
        }
        """);

    [Fact]
    public Task The_fix_turns_the_declaration_into_await_using() => Verify.FixAsync<UndisposedClientAnalyzer, AwaitUsingFix>(
        Prelude + """
            public async Task RunAsync()
            {
                var {|DECART001:rt = await client.Realtime.ConnectAsync(source, options)|};
                await rt.SetPromptAsync("anime style");
            }

            public async Task OtherAsync()
            {
                var {|DECART001:second = await client.Realtime.ConnectAsync(source, options)|};
                await second.SetPromptAsync("watercolor");
            }
        }
        """,
        Prelude + """
            public async Task RunAsync()
            {
                await using var rt = await client.Realtime.ConnectAsync(source, options);
                await rt.SetPromptAsync("anime style");
            }

            public async Task OtherAsync()
            {
                await using var second = await client.Realtime.ConnectAsync(source, options);
                await second.SetPromptAsync("watercolor");
            }
        }
        """);

    [Fact]
    public Task Nothing_is_reported_without_the_SDK() => Verify.WithoutSdkAsync<UndisposedClientAnalyzer>("""
        public class RealtimeClient { }
        public class C { public void M() { var c = new RealtimeClient(); } }
        """);
}
