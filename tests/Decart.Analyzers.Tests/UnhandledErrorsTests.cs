using Decart.Analyzers.Rules;

namespace Decart.Analyzers.Tests;

public class UnhandledErrorsTests
{
    [Fact]
    public Task Options_without_OnError_in_a_type_that_never_subscribes_are_flagged() => Verify.AnalyzerAsync<UnhandledErrorsAnalyzer>("""
        public class Unhandled
        {
            public async Task RunAsync(DecartClient api, IVideoSource source)
            {
                await using var rt = await api.Realtime.ConnectAsync(source, {|DECART005:new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnConnectionChanged = s => Console.WriteLine(s) }|});
            }
        }

        public class SomeOtherErrorEvent
        {
            public event EventHandler? Error;

            public async Task RunAsync(DecartClient api, IVideoSource source)
            {
                Error += (_, _) => { }; // an event called Error, but not the realtime client's
                await using var rt = await api.Realtime.ConnectAsync(source, {|DECART005:new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnConnectionChanged = s => Console.WriteLine(s) }|});
            }
        }
        """);

    [Fact]
    public Task OnError_or_an_Error_subscription_anywhere_in_the_type_is_enough() => Verify.AnalyzerAsync<UnhandledErrorsAnalyzer>("""
        public class WithOption
        {
            public async Task RunAsync(DecartClient api, IVideoSource source)
            {
                await using var rt = await api.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code), OnConnectionChanged = s => Console.WriteLine(s) });
            }
        }

        public class WithEvent
        {
            public async Task RunAsync(DecartClient api, IVideoSource source)
            {
                await using var rt = await api.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnConnectionChanged = s => Console.WriteLine(s) });
                rt.Error += OnError;
            }

            private void OnError(object? sender, DecartException error) => Console.WriteLine(error.Code);
        }

        public class OptionsFromElsewhere
        {
            public async Task RunAsync(DecartClient api, IVideoSource source, RealtimeConnectOptions options)
            {
                await using var rt = await api.Realtime.ConnectAsync(source, options);
            }
        }
        """);
}
