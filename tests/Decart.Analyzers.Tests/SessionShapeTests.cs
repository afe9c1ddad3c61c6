using Decart.Analyzers.CodeFixes;
using Decart.Analyzers.Rules;

namespace Decart.Analyzers.Tests;

public class SessionShapeTests
{
    /// <summary>
    /// DECART004 walks a method only when the connect is in a loop or the method's text names ConnectAsync twice: a
    /// second connect spelt with a Unicode escape is still found (the escape means a walk), and a second mention in a
    /// comment or another name costs a walk but reports nothing.
    /// </summary>
    [Fact]
    public Task The_reconnect_prefilter_misses_no_spelling_and_reports_no_mention() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class Restarts
        {
            public async Task Escaped(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                var first = await api.Realtime.ConnectAsync(camera, options);
                await first.DisposeAsync();
                await using var second = await {|DECART004:api.Realtime.Connect\u0041sync(camera, options)|};
            }

            public async Task Mentioned(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                // ConnectAsync once, then SetAsync: no second ConnectAsync here
                await using var rt = await api.Realtime.ConnectAsync(camera, options);
                await rt.SetPromptAsync("anime");
                string name = nameof(RealtimeApi.ConnectAsync);
            }
        }
        """);

    [Fact]
    public Task Reconnecting_with_the_same_model_to_change_the_prompt_is_flagged() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class Restarts
        {
            public async Task ChangeStyle(DecartClient api, IVideoSource camera)
            {
                var first = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = "anime" } });
                await first.DisconnectAsync();
                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = "watercolor" } })|};
            }

            public async Task SameOptions(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                var first = await api.Realtime.ConnectAsync(camera, options);
                await first.DisposeAsync();
                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|};
            }
        }
        """);

    [Fact]
    public Task A_reconnect_after_a_disposal_form_DECART001_recommends_is_flagged_too() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class Restarts
        {
            public async Task UsingStatement(DecartClient api, IVideoSource camera)
            {
                await using (var first = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 }))
                {
                    await first.SetPromptAsync("anime");
                }

                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 })|};
            }

            public async Task UsingDeclarationInABlock(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                {
                    await using var first = await api.Realtime.ConnectAsync(camera, options);
                    await first.SetPromptAsync("anime");
                }

                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|};
            }

            public async Task ConfigureAwaitUsing(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                var first = await api.Realtime.ConnectAsync(camera, options).ConfigureAwait(false);
                await using (first.ConfigureAwait(false))
                {
                    await first.SetPromptAsync("anime").ConfigureAwait(false);
                }

                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|};
            }

            public async Task TryFinally(DecartClient api, IVideoSource camera, RealtimeConnectOptions options)
            {
                var first = await api.Realtime.ConnectAsync(camera, options);
                try
                {
                    await first.SetPromptAsync("anime");
                }
                finally
                {
                    await first.DisposeAsync();
                }

                await using var second = await {|DECART004:api.Realtime.ConnectAsync(camera, options)|};
            }
        }
        """);

    [Fact]
    public Task A_session_still_open_when_the_next_connects_is_not_a_reconnect() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class TwoSessions
        {
            public async Task NestedUsing(DecartClient api, IVideoSource a, IVideoSource b, RealtimeConnectOptions options)
            {
                await using (var first = await api.Realtime.ConnectAsync(a, options))
                {
                    await using var second = await api.Realtime.ConnectAsync(b, options);
                }
            }

            public async Task DeclarationInTheSameBlock(DecartClient api, IVideoSource a, IVideoSource b, RealtimeConnectOptions options)
            {
                await using var first = await api.Realtime.ConnectAsync(a, options);
                await using var second = await api.Realtime.ConnectAsync(b, options);
            }
        }
        """);

    [Fact]
    public Task Another_model_or_no_disconnect_in_between_is_fine() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class Fine
        {
            public async Task SwitchModel(DecartClient api, IVideoSource camera)
            {
                var first = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 });
                await first.DisconnectAsync();
                await using var second = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.LucyRestyle2 });
            }

            public async Task TwoAtOnce(DecartClient api, IVideoSource a, IVideoSource b)
            {
                await using var first = await api.Realtime.ConnectAsync(a, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 });
                await using var second = await api.Realtime.ConnectAsync(b, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 });
            }
        }
        """);

    [Fact]
    public Task Literal_sizes_and_rates_that_differ_from_the_catalog_model_are_flagged_and_fixed() => Verify.FixAsync<SessionShapeAnalyzer, UseModelFormatFix>(
        """
        public class Capture
        {
            public async Task Run(DecartClient api)
            {
                await using var camera = new RawVideoSource(new VideoFormat({|DECART006:1280|}, {|DECART006:720|}, 30));
                await using var clip = await IvfFileSource.OpenAsync("clip.ivf", fps: {|DECART006:60|});
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 });
            }
        }
        """,
        """
        public class Capture
        {
            public async Task Run(DecartClient api)
            {
                await using var camera = new RawVideoSource(new VideoFormat(RealtimeModels.Lucy21.Width, RealtimeModels.Lucy21.Height, 30));
                await using var clip = await IvfFileSource.OpenAsync("clip.ivf", fps: RealtimeModels.Lucy21.Fps);
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 });
            }
        }
        """);

    [Fact]
    public Task Matching_formats_unknown_models_and_two_models_are_not_judged() => Verify.AnalyzerAsync<SessionShapeAnalyzer>("""
        public class Capture
        {
            public async Task Matching(DecartClient api)
            {
                await using var camera = new RawVideoSource(new VideoFormat(1088, 624, 30));
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21 });
            }

            public async Task Custom(DecartClient api, RealtimeModel model)
            {
                await using var camera = new RawVideoSource(new VideoFormat(640, 480, 30));
                await using var rt = await api.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = model });
            }
        }
        """);
}
