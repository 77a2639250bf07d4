package dev.lazydir.tree;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What lazydir remembers about each entry it created, stored with the entry in the xattr {@value #XATTR}.
 *
 * <p>Format (version 1): UTF-8 text, one {@code key=value} per line, in this order:
 * <pre>
 *   v=1            format version; an entry with an unknown version is treated as foreign and left alone
 *   s=SIZE         (file) the origin's size in bytes; a file's metadata is the one with s=
 *   m=EPOCH        (file, optional) the origin's mtime in epoch seconds (Last-Modified, or the listing's time);
 *                  kept here because writing the content changes st_mtime; with t=n it is EPOCH.NANOS
 *   t=s | m | n    (file, with m=) precision of that time: seconds (Last-Modified), minutes (a listing) or
 *                  nanoseconds (a tree index, see {@code dev.lazydir.index.TreeIndex})
 *   e=ETAG         (file, optional) the origin's ETag, or "#" + 16 hex of its SHA-256 when longer than 40 bytes
 *   c=1            (file, optional) every byte of the version above is on disk (written after a sync); such a file
 *                  needs no segment map, so it carries none and the xattr block a map would take is not used
 *   l=EPOCH        (dir) when the directory was last listed, in epoch seconds; 0 = never listed yet;
 *                  a directory's metadata is the one with l=
 *   n=SEGMENT      (optional) the URL path segment as the listing spelled it, when that differs from the
 *                  canonical encoding of the local name; requests use it so the server gets its own spelling
 *   u=URL          (dir, optional) the directory's final URL when it is not parent URL + segment (a redirect)
 *   i=1            (dir, optional) made from the origin's tree index: the index, fetched again at each start,
 *                  is its listing, so it is never listed from an index page
 *   p=OCTAL        (optional) permission bits the tree index gives the entry (without --allow-other only the
 *                  owner's are applied); absent: --file-mode and the directory default apply
 *   e=ETAG         (dir, optional) the ETag of the listing last applied, sent back as If-None-Match
 *   m=EPOCH        (dir, optional) the Last-Modified of that listing, sent back as If-Modified-Since
 *   h=HEX          (dir, optional) 16 hex of the SHA-256 of that listing's type and body: a listing that comes
 *                  back byte for byte the same (servers that send no validators: nginx, Apache, python) is
 *                  not parsed again either
 *   d=EPOCH[.NANOS] (dir, with e=, m= or h=) the directory's own mtime as that listing left it: any entry made,
 *                  removed or renamed in it since (by hand, in a crawled DIR) moves it, and then the next
 *                  listing is applied in full whatever the origin says
 * </pre>
 * The stub's st_size and st_mtime are set from these values too. Only values that cannot be derived are
 * stored, and keys are one letter, because ext4 keeps about 60 bytes of xattr inside a 256-byte inode: a file
 * stub's metadata fits there, so a stub takes no disk block at all. Other xattrs: {@value #ORIGIN_XATTR} on
 * the root (the origin URL, never with credentials) and {@value #MAP_XATTR} (the populated-segment map, written
 * by the daemon only after the segment's bytes are on disk).
 */
public sealed interface EntryMeta {
  String XATTR = "user.lazydir";
  String ORIGIN_XATTR = "user.lazydir.origin";
  String MAP_XATTR = "user.lazydir.map";
  int VERSION = 1;

  /** The listed spelling of the entry's URL segment, or null when it is the canonical encoding. */
  String listedName();

  byte[] encode();

  /** Precision of a file's mtime. */
  enum TimePrecision {
    SECONDS("s"), MINUTES("m"), NANOS("n"), UNKNOWN("-");

    final String code;

    TimePrecision(String code) {
      this.code = code;
    }

    static TimePrecision of(String code) {
      for (TimePrecision p : values()) {
        if (p.code.equals(code)) {
          return p;
        }
      }
      throw new IllegalArgumentException("unknown time precision '" + code + "'");
    }
  }

  /**
   * A file stub's metadata.
   *
   * @param mtime the origin's mtime, or null if it gave none (then {@code mtimePrecision} is UNKNOWN)
   */
  record FileMeta(long size, java.time.Instant mtime, TimePrecision mtimePrecision, String etag, String listedName,
      boolean complete, int mode) implements EntryMeta {
    /** A stub's metadata, nothing of it on disk yet. */
    public FileMeta(long size, java.time.Instant mtime, TimePrecision mtimePrecision, String etag, String listedName) {
      this(size, mtime, mtimePrecision, etag, listedName, false);
    }

    public FileMeta(long size, java.time.Instant mtime, TimePrecision mtimePrecision, String etag, String listedName,
        boolean complete) {
      this(size, mtime, mtimePrecision, etag, listedName, complete, -1);
    }

    public FileMeta {
      if (mtime == null) {
        mtimePrecision = TimePrecision.UNKNOWN;
      }
      if (etag != null && etag.getBytes(StandardCharsets.UTF_8).length > 40) {
        etag = "#" + sha256Prefix(etag);
      }
    }

    @Override
    public byte[] encode() {
      StringBuilder sb = header().append("s=").append(size).append('\n');
      if (mtime != null) {
        sb.append("m=").append(mtime.getEpochSecond());
        if (mtimePrecision == TimePrecision.NANOS && mtime.getNano() != 0) {
          sb.append('.').append(String.format("%09d", mtime.getNano()));
        }
        sb.append('\n').append("t=").append(mtimePrecision.code).append('\n');
      }
      if (etag != null) {
        sb.append("e=").append(etag).append('\n');
      }
      if (complete) {
        sb.append("c=1\n");
      }
      appendMode(sb, mode);
      return finish(sb, listedName, null);
    }

    /** The same version, recorded as wholly on disk. */
    public FileMeta asComplete() {
      return new FileMeta(size, mtime, mtimePrecision, etag, listedName, true, mode);
    }
  }

  /**
   * A directory's metadata.
   *
   * @param fromIndex made from the origin's tree index (never listed from an index page)
   * @param mode permission bits the index gives it, or -1
   */
  record DirMeta(long listedEpochSeconds, String listedName, String url, boolean fromIndex, int mode,
      ListingVersion listing) implements EntryMeta {
    public DirMeta(long listedEpochSeconds, String listedName, String url) {
      this(listedEpochSeconds, listedName, url, false, -1);
    }

    public DirMeta(long listedEpochSeconds, String listedName, String url, boolean fromIndex, int mode) {
      this(listedEpochSeconds, listedName, url, fromIndex, mode, null);
    }

    public boolean listed() {
      return listedEpochSeconds > 0;
    }

    /** Listed now from an index page, whose version is not known (yet): see {@link #withListing}. */
    public DirMeta listedAt(Instant when, String finalUrl) {
      // a listing from an index page replaces what a tree index said
      return new DirMeta(Math.max(1, when.getEpochSecond()), listedName, finalUrl);
    }

    /** The same directory, its listing now known to be {@code version} (null: not known). */
    public DirMeta withListing(ListingVersion version) {
      return new DirMeta(listedEpochSeconds, listedName, url, fromIndex, mode, version);
    }

    @Override
    public byte[] encode() {
      StringBuilder sb = header().append("l=").append(listedEpochSeconds).append('\n');
      if (fromIndex) {
        sb.append("i=1\n");
      }
      appendMode(sb, mode);
      if (listing != null) {
        if (listing.etag() != null) {
          sb.append("e=").append(listing.etag()).append('\n');
        }
        if (listing.lastModified() != null) {
          sb.append("m=").append(listing.lastModified().getEpochSecond()).append('\n');
        }
        if (listing.digest() != null) {
          sb.append("h=").append(listing.digest()).append('\n');
        }
        if (listing.dirMtime() != null) {
          sb.append("d=").append(listing.dirMtime().getEpochSecond());
          if (listing.dirMtime().getNano() != 0) {
            sb.append('.').append(String.format("%09d", listing.dirMtime().getNano()));
          }
          sb.append('\n');
        }
      }
      return finish(sb, listedName, url);
    }
  }

  /**
   * What identifies the listing a directory was last made from: the validators its answer carried (to ask
   * the origin "changed since?") and a digest of its body (to see, without parsing it, that a full answer says
   * the same again). An ETag that could not be sent back as it is (longer than {@link #MAX_LISTING_ETAG}
   * bytes, or not visible ASCII) is not kept.
   */
  record ListingVersion(String etag, Instant lastModified, String digest, Instant dirMtime) {
    /** Longer ETags are not kept (the xattr stays small); the digest still recognises the listing. */
    public static final int MAX_LISTING_ETAG = 80;

    public ListingVersion {
      if (etag != null && (etag.length() > MAX_LISTING_ETAG || !etag.chars().allMatch(c -> c > 0x20 && c < 0x7f))) {
        etag = null;
      }
      if (digest != null && !digest.matches("[0-9a-f]{16}")) {
        digest = null;
      }
    }

    /** The first 64 bits of the SHA-256 of a listing's media type and body, in hex. */
    public static String digestOf(String mediaType, byte[] body) {
      try {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(String.valueOf(mediaType).getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        return HexFormat.of().formatHex(sha.digest(body), 0, 8);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    public boolean hasValidators() {
      return etag != null || lastModified != null;
    }

    /** The same listing, applied to a directory whose mtime is now {@code mtime}. */
    public ListingVersion at(Instant mtime) {
      return new ListingVersion(etag, lastModified, digest, mtime);
    }
  }

  /** The permission bits an entry is given: the index's (or -1: none). */
  int mode();

  private static void appendMode(StringBuilder sb, int mode) {
    if (mode >= 0) {
      sb.append("p=").append(Integer.toOctalString(mode)).append('\n');
    }
  }

  private static Instant parseMtime(String m) {
    int dot = m.indexOf('.');
    if (dot < 0) {
      return Instant.ofEpochSecond(Long.parseLong(m));
    }
    String frac = m.substring(dot + 1);
    if (frac.isEmpty() || frac.length() > 9 || !frac.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException("bad time " + m);
    }
    return Instant.ofEpochSecond(Long.parseLong(m.substring(0, dot)),
        Long.parseLong((frac + "000000000").substring(0, 9)));
  }

  private static int parseMode(String p) {
    if (p == null) {
      return -1;
    }
    int mode = Integer.parseInt(p, 8);
    if (mode < 0 || mode > 07777) {
      throw new IllegalArgumentException("bad mode " + p);
    }
    return mode;
  }

  /** Parses an xattr value; empty if it is not lazydir's (other version, garbage): such entries are foreign. */
  static Optional<EntryMeta> decode(byte[] value) {
    Map<String, String> fields = new LinkedHashMap<>();
    for (String line : new String(value, StandardCharsets.UTF_8).split("\n")) {
      int eq = line.indexOf('=');
      if (eq <= 0) {
        return Optional.empty();
      }
      fields.put(line.substring(0, eq), line.substring(eq + 1));
    }
    if (!String.valueOf(VERSION).equals(fields.get("v"))) {
      return Optional.empty();
    }
    try {
      if (fields.containsKey("s")) {
        String m = fields.get("m");
        return Optional.of(new FileMeta(Long.parseLong(fields.get("s")),
            m == null ? null : parseMtime(m),
            m == null ? TimePrecision.UNKNOWN : TimePrecision.of(fields.get("t")), fields.get("e"), fields.get("n"),
            "1".equals(fields.get("c")), parseMode(fields.get("p"))));
      }
      if (fields.containsKey("l")) {
        String e = fields.get("e");
        String m = fields.get("m");
        String h = fields.get("h");
        String d = fields.get("d");
        ListingVersion listing = e == null && m == null && h == null ? null
            : new ListingVersion(e, m == null ? null : Instant.ofEpochSecond(Long.parseLong(m)), h,
                d == null ? null : parseMtime(d));
        return Optional.of(new DirMeta(Long.parseLong(fields.get("l")), fields.get("n"), fields.get("u"),
            "1".equals(fields.get("i")), parseMode(fields.get("p")), listing));
      }
    } catch (RuntimeException malformed) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  private static StringBuilder header() {
    return new StringBuilder(64).append("v=").append(VERSION).append('\n');
  }

  private static byte[] finish(StringBuilder sb, String listedName, String url) {
    if (listedName != null) {
      sb.append("n=").append(listedName).append('\n');
    }
    if (url != null) {
      sb.append("u=").append(url).append('\n');
    }
    sb.setLength(sb.length() - 1);
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String sha256Prefix(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
