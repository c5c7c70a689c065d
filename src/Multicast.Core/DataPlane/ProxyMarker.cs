namespace Multicast.Core.DataPlane;

/// <summary>Constants of the unicast-hop wire format (compatible with the original's kernel variant).</summary>
public static class ProxyMarker
{
    /// <summary>TOS byte that marks a proxied copy (DSCP CS7, ECN 0).</summary>
    public const byte Tos = 0xE0;

    /// <summary>Copies leave with at least this TTL so they survive routed VPC hops.</summary>
    public const byte MinimumTtl = 64;
}
