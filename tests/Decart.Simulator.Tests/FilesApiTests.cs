using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Decart.Simulator.Hosting;
using Decart.Simulator.Realtime;
using Decart.Simulator.Rest;
using Microsoft.Extensions.Time.Testing;

namespace Decart.Simulator.Tests;

/// <summary>The simulator's Files API (<c>/v1/files</c>), <c>image_ref</c> in realtime sessions, and CORS, over real Kestrel.</summary>
public sealed class FilesApiTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    private static HttpRequestMessage Request(HttpMethod method, string path, string? key = SimulatorOptions.DevelopmentKey, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Add("X-API-KEY", key);
        }

        return request;
    }

    private static MultipartFormDataContent Upload(byte[] bytes, string fileName = "style.png", string? ttl = null)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(bytes), "file", fileName } };
        if (ttl is not null)
        {
            form.Add(new StringContent(ttl), "ttl_seconds");
        }

        return form;
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    [Fact]
    public async Task Upload_get_and_delete_follow_the_js_sdks_file_reference()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { TimeProvider = time });
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };

        // Default TTL: 24 h.
        using var uploaded = await http.SendAsync(Request(HttpMethod.Post, "/v1/files", content: Upload(Png)));
        Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
        var file = await Json(uploaded);
        string id = file.GetProperty("id").GetString()!;
        Assert.StartsWith("file_", id, StringComparison.Ordinal);
        Assert.Equal("style.png", file.GetProperty("filename").GetString());
        Assert.Equal("image/png", file.GetProperty("mime_type").GetString());
        Assert.Equal(Png.Length, file.GetProperty("size_bytes").GetInt64());
        Assert.Equal(time.GetUtcNow(), file.GetProperty("created_at").GetDateTimeOffset());
        Assert.Equal(time.GetUtcNow().AddHours(24), file.GetProperty("expires_at").GetDateTimeOffset());

        using var got = await http.SendAsync(Request(HttpMethod.Get, $"/v1/files/{id}"));
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal(id, (await Json(got)).GetProperty("id").GetString());

        // Persistent: no expiry. A 60 s TTL: gone (410) once it passed, its bytes dropped at once.
        using var persistent = await http.SendAsync(Request(HttpMethod.Post, "/v1/files", content: Upload(Png, ttl: "persistent")));
        Assert.Equal(JsonValueKind.Null, (await Json(persistent)).GetProperty("expires_at").ValueKind);
        using var shortLived = await http.SendAsync(Request(HttpMethod.Post, "/v1/files", content: Upload(Png, ttl: "60")));
        string shortId = (await Json(shortLived)).GetProperty("id").GetString()!;
        var store = (FileStore)sim.Services.GetService(typeof(FileStore))!;
        long before = store.TotalBytes;
        time.Advance(TimeSpan.FromSeconds(61));
        using var expired = await http.SendAsync(Request(HttpMethod.Get, $"/v1/files/{shortId}"));
        Assert.Equal(HttpStatusCode.Gone, expired.StatusCode);
        Assert.Contains("expired", (await Json(expired)).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(before - Png.Length, store.TotalBytes);

        using var deleted = await http.SendAsync(Request(HttpMethod.Delete, $"/v1/files/{id}"));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var again = await http.SendAsync(Request(HttpMethod.Get, $"/v1/files/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        using var deletedTwice = await http.SendAsync(Request(HttpMethod.Delete, $"/v1/files/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, deletedTwice.StatusCode);
    }

    [Fact]
    public async Task Bad_uploads_get_named_errors_and_store_nothing()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { MaxImageBytes = 64 * 1024 });
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };
        var store = (FileStore)sim.Services.GetService(typeof(FileStore))!;

        // Bad input tried: no key, a wrong key, TTLs out of range and not numbers, no file part, an empty file, a GIF,
        // a text file, a file over the limit, a JSON body instead of multipart, an id of 5,000 characters.
        async Task<(HttpStatusCode Status, JsonElement Body)> Post(HttpContent? content, string? key = SimulatorOptions.DevelopmentKey)
        {
            using var response = await http.SendAsync(Request(HttpMethod.Post, "/v1/files", key, content));
            return (response.StatusCode, await Json(response));
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(Upload(Png), key: null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(Upload(Png), key: "sk_wrong")).Status);
        foreach (var ttl in new[] { "59", "2592001", "-5", "1.5", "forever", "" })
        {
            var (status, body) = await Post(Upload(Png, ttl: ttl));
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("ttl_seconds", body.GetProperty("field").GetString());
        }

        var noFile = new MultipartFormDataContent { { new StringContent("3600"), "ttl_seconds" } };
        Assert.Equal((HttpStatusCode.BadRequest, "file"), await Field(Post(noFile)));
        Assert.Equal((HttpStatusCode.BadRequest, "file"), await Field(Post(Upload([]))));
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, "file"), await Field(Post(Upload(Encoding.ASCII.GetBytes("GIF89a\x01\x00\x01\x00"), "a.gif"))));
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, "file"), await Field(Post(Upload("hello"u8.ToArray(), "a.txt"))));
        var big = new byte[65 * 1024];
        Png.CopyTo(big, 0);
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "file"), await Field(Post(Upload(big))));
        Assert.Equal((HttpStatusCode.BadRequest, "file"), await Field(Post(JsonContent.Create(new { file = "x" }))));
        Assert.Equal(0, store.Count);

        using var longId = await http.SendAsync(Request(HttpMethod.Get, "/v1/files/file_" + new string('a', 5000)));
        Assert.Equal(HttpStatusCode.NotFound, longId.StatusCode);
        Assert.True((await longId.Content.ReadAsStringAsync()).Length < 300, "the error does not echo a 5,000-character id");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Request(HttpMethod.Get, "/v1/files/file_x", key: null))).StatusCode);

        static async Task<(HttpStatusCode, string?)> Field(Task<(HttpStatusCode Status, JsonElement Body)> post)
        {
            var (status, body) = await post;
            return (status, body.GetProperty("field").GetString());
        }
    }

    [Fact]
    public void The_store_is_bounded_by_count_and_bytes_oldest_first()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var store = new FileStore(time, maxFiles: 3, maxTotalBytes: 250);
        var ids = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            ids.Add(store.Add(new byte[50], null, "image/png", TimeSpan.FromHours(1)).Id);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(3, store.Count);
        Assert.Equal(150, store.TotalBytes);
        Assert.Equal(FileLookup.NotFound, store.Find(ids[0], out _));
        Assert.Equal(FileLookup.Found, store.Find(ids[4], out _));

        store.Add(new byte[200], null, "image/png", null);                     // 350 bytes > 250: the two oldest go
        Assert.Equal(2, store.Count);
        Assert.Equal(250, store.TotalBytes);
        Assert.Equal(FileLookup.NotFound, store.Find(ids[3], out _));
        Assert.Equal(FileLookup.Found, store.Find(ids[4], out _));

        // An expired file's bytes go at once; its metadata (the "expired" answer) after a day more.
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(FileLookup.Expired, store.Find(ids[4], out _));
        Assert.Null(store.Content(ids[4]));
        Assert.Equal(200, store.TotalBytes);
        time.Advance(TimeSpan.FromDays(1));
        store.Add(new byte[1], null, "image/png", null);
        Assert.Equal(FileLookup.NotFound, store.Find(ids[4], out _));
    }

    [Fact]
    public async Task A_session_uses_an_uploaded_file_with_image_ref_and_refuses_missing_or_mixed_references()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { TickInterval = TimeSpan.FromMilliseconds(200) });
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };
        using var uploaded = await http.SendAsync(Request(HttpMethod.Post, "/v1/files", content: Upload(Png)));
        string id = (await Json(uploaded)).GetProperty("id").GetString()!;

        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next.WaitAsync(Bound);
        await client.SendAsync(new JsonObject { ["type"] = "set_image", ["image_ref"] = id, ["prompt"] = "in this style" });
        var ack = await client.ExpectAsync("set_image_ack");
        Assert.True((bool)ack["success"]!, ack.ToJsonString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Png)), session.ImageHash);           // the same image as sent inline
        Assert.Equal("in this style", session.Prompt);

        // Bad input tried: an unknown id, a number, image_data and image_ref together, an id of 10,000 characters.
        foreach (var (message, expected) in new (JsonObject, string)[]
        {
            (new JsonObject { ["type"] = "set_image", ["image_ref"] = "file_nope" }, "not found"),
            (new JsonObject { ["type"] = "set_image", ["image_ref"] = 42 }, "file id"),
            (new JsonObject { ["type"] = "set_image", ["image_ref"] = id, ["image_data"] = Convert.ToBase64String(Png) }, "not both"),
            (new JsonObject { ["type"] = "set_image", ["image_ref"] = "file_" + new string('x', 10_000) }, "not found"),
        })
        {
            await client.SendAsync(message);
            var refused = await client.ExpectAsync("set_image_ack");
            Assert.False((bool)refused["success"]!);
            string error = (string)refused["error"]!;
            Assert.Contains(expected, error, StringComparison.Ordinal);
            Assert.True(error.Length < 200, error);
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Png)), session.ImageHash);           // nothing refused changed the state
        using var deleted = await http.SendAsync(Request(HttpMethod.Delete, $"/v1/files/{id}"));
        await client.SendAsync(new JsonObject { ["type"] = "set_image", ["image_ref"] = id });
        Assert.Contains("not found", (string)(await client.ExpectAsync("set_image_ack"))["error"]!, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_reference_is_refused_by_the_sessions_state()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var files = new FileStore(time);
        var state = new StateUpdates(new SimulatorOptions { TimeProvider = time }, files);
        string id = files.Add(Png, "a.png", "image/png", TimeSpan.FromSeconds(60)).Id;
        using var doc = JsonDocument.Parse($$"""{"type":"set_image","image_ref":"{{id}}"}""");
        Assert.Equal(1, state.ApplySetImage(doc.RootElement).Version);
        time.Advance(TimeSpan.FromSeconds(60));
        var (ack, version) = state.ApplySetImage(doc.RootElement);
        Assert.Equal(0, version);
        Assert.Contains("expired", (string)ack["error"]!, StringComparison.Ordinal);
        Assert.Equal(1, state.Rejected);
    }

    [Fact]
    public async Task Cors_lets_browser_pages_call_on_loopback_and_only_listed_origins_elsewhere()
    {
        await using var sim = await DecartSimulator.StartAsync();
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };

        // The preflight a browser sends before client.files.upload / client.tokens.create from http://localhost:5173.
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/files");
        preflight.Headers.Add("Origin", "http://localhost:5173");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-api-key,content-type");
        using var answer = await http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("http://localhost:5173", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("x-api-key", string.Join(",", answer.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("POST", string.Join(",", answer.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);

        foreach (var (method, path) in new[] { (HttpMethod.Post, "/v1/client/tokens"), (HttpMethod.Get, "/v1/files/file_x"), (HttpMethod.Get, "/_sim/sessions") })
        {
            using var request = Request(method, path);
            request.Headers.Add("Origin", "https://app.example");
            using var response = await http.SendAsync(request);
            Assert.Equal("https://app.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }

        // Configured: only the listed origin (also what a simulator bound beyond loopback does with none listed).
        var options = new SimulatorOptions { CorsOrigins = ["https://app.example/"] };
        Assert.True(options.AllowsOrigin("https://app.example"));
        Assert.False(options.AllowsOrigin("https://evil.example"));
        Assert.False(new SimulatorOptions { Host = "0.0.0.0" }.AllowsOrigin("https://app.example"));
        Assert.True(new SimulatorOptions { Host = "0.0.0.0", CorsOrigins = ["*"] }.AllowsOrigin("https://app.example"));
        await using var strict = await DecartSimulator.StartAsync(options);
        using var strictHttp = new HttpClient { BaseAddress = strict.BaseUrl };
        using var denied = Request(HttpMethod.Post, "/v1/client/tokens");
        denied.Headers.Add("Origin", "https://evil.example");
        using var deniedAnswer = await strictHttp.SendAsync(denied);
        Assert.False(deniedAnswer.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
