using BenchmarkDotNet.Attributes;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Tables;

namespace Multicast.Bench;

/// <summary>A member restoring one marked copy: checks, (server, port) lookup, copy, rewrite, checksums.</summary>
[MemoryDiagnoser]
public class ClientRestoreBenchmarks
{
    [Params(100, 1400)]
    public int DatagramBytes { get; set; }

    private ClientForwarder _client = new(0);
    private MemoryTxRing _ring = new(1, 1);
    private byte[] _copy = [];
    private byte[] _slot = [];

    [GlobalSetup]
    public void Setup()
    {
        _client = new ClientForwarder(0);
        var routes = new List<ClientRouteConfig>();
        for (uint i = 0; i < 64; i++) routes.Add(new ClientRouteConfig(Packets.Sender + i, Packets.ServerPort, Packets.Group + i, Packets.GroupPort));
        _client.Publish(new ClientTable(new ClientConfig(routes), null));
        _ring = new MemoryTxRing(1, 2048);
        _slot = new byte[2048];
        _copy = Packets.Udp(DatagramBytes, Packets.Sender + 5, 0x0A010001, Packets.ServerPort, tos: ProxyMarker.Tos, ttl: 64);
    }

    [Benchmark(Baseline = true)]
    public void Memcpy() => _copy.AsSpan().CopyTo(_slot);

    [Benchmark]
    public void Restore()
    {
        _client.Restore(_copy, _ring);
        _ring.Flush();
    }
}
