package dev.lazydir.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lazydir.testing.Commands.Result;
import dev.lazydir.testing.FakeOrigin;
import dev.lazydir.testing.PrivateNamespace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve checks its setup before it touches anything: one sentence naming the cause and the fix, nothing created. */
class ServeRefusesBadSetupsTest {
  @TempDir Path tmp;

  @Test
  void aDirThatIsAFileIsRefusedAndNoStoreIsMade() throws Exception {
    PrivateNamespace.require("serve refusals");
    Path file = Files.writeString(tmp.resolve("notadir"), "x");
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      Result r = ServeTest.lazydir("serve", origin.url("/").toString(), file.toString());
      assertEquals(1, r.exit(), r.err());
      assertTrue(r.err().contains("is not a directory") && r.err().contains("give another path"), r.err());
      assertFalse(Files.exists(tmp.resolve(".notadir.lazydir")), "no store was made");
      assertEquals(0, origin.requestCount(), "the origin was not asked anything");
    }
  }

  @Test
  void aStoreOnTmpfsIsRefusedNamingTheFilesystemAndTheFix() throws Exception {
    PrivateNamespace.require("serve refusals (mounts a tmpfs in the test's own namespace)");
    Path mnt = Files.createDirectory(tmp.resolve("tmpfs"));
    assertEquals(0, ServeBed.run(30, "mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt.toString()).exit());
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      Result r = ServeTest.lazydir("serve", "--store", mnt.resolve("store").toString(), origin.url("/").toString(),
          mnt.resolve("view").toString());
      assertEquals(1, r.exit(), r.err());
      assertTrue(r.err().contains("tmpfs filesystem") && r.err().contains("--store"), r.err());
      try (var left = Files.list(mnt)) {
        assertEquals(0, left.count(), "nothing was created");
      }
    } finally {
      ServeBed.run(30, "umount", mnt.toString());
    }
  }

  @Test
  void aNonEmptyDirIsRefusedBeforeTheStoreIsMadeOrTheOriginAsked() throws Exception {
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      Files.createDirectories(bed.view);
      Files.writeString(bed.view.resolve("mine.txt"), "the user's own file");
      Result r = ServeTest.lazydir("serve", "--store", bed.store.toString(), origin.url("/").toString(), bed.view.toString());
      assertEquals(1, r.exit(), r.err());
      assertEquals(1, r.err().lines().count(), r.err());
      assertTrue(r.err().contains(bed.view + " is not empty") && r.err().contains("give an empty or new directory"), r.err());
      assertFalse(Files.exists(bed.store), "no store was made");
      assertEquals("the user's own file", Files.readString(bed.view.resolve("mine.txt")));
      assertEquals(0, origin.requestCount(), "the origin was not asked anything");
    }
  }

  @Test
  void aStoreInUseIsRefusedNamingThePidAndTheFixAndIsLeftAsItWas() throws Exception {
    try (ServeBed bed = new ServeBed(tmp); FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      StoreLayout layout = new StoreLayout(bed.store);
      layout.create();
      Files.createFile(layout.run().resolve("lock"));
      java.util.Map<String, String> before = dev.lazydir.testing.LocalTree.snapshot(bed.store);
      try (dev.lazydir.testing.LockHolder other = new dev.lazydir.testing.LockHolder(layout.run().resolve("lock"))) {
        Result r = ServeTest.lazydir("serve", "--store", bed.store.toString(), origin.url("/").toString(),
            bed.view.toString());
        assertEquals(1, r.exit(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("is in use by another lazydir serve") && r.err().contains("lazydir stop"), r.err());
      }
      assertEquals(before, dev.lazydir.testing.LocalTree.snapshot(bed.store), "the store is untouched");
      assertFalse(Files.exists(bed.view), "DIR was not created");
      assertEquals(0, origin.requestCount(), "the origin was not asked anything");
    }
  }

  @Test
  void aFirstStartThatFailsAtTheOriginRemovesTheStoreAndTheDirItMade() throws Exception {
    try (ServeBed bed = new ServeBed(tmp)) {
      Result r = ServeTest.lazydir("serve", "--store", bed.store.toString(), "--retries", "1", "--no-index",
          "http://127.0.0.1:1/pub/", bed.view.toString());
      assertEquals(1, r.exit(), r.err());
      assertTrue(r.err().contains("127.0.0.1:1"), r.err());
      assertFalse(Files.exists(bed.store), "the store this start made is gone");
      assertFalse(Files.exists(bed.view), "the DIR this start made is gone");
    }
  }

  @Test
  void withoutRootOrWithoutCapSysAdminTheSentenceNamesTheCapabilityAndTheFix() {
    java.io.IOException user = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
        () -> ServePreflight.checkPrivilege(1000, -1L));
    assertTrue(user.getMessage().contains("needs root with CAP_SYS_ADMIN") && user.getMessage().contains("sudo"),
        user.getMessage());
    java.io.IOException container = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
        () -> ServePreflight.checkPrivilege(0, ~(1L << ServePreflight.CAP_SYS_ADMIN)));
    assertTrue(container.getMessage().contains("without CAP_SYS_ADMIN") && container.getMessage().contains("--cap-add SYS_ADMIN"),
        container.getMessage());
    org.junit.jupiter.api.Assertions.assertDoesNotThrow(() -> ServePreflight.checkPrivilege(0, 1L << ServePreflight.CAP_SYS_ADMIN));
  }

  @Test
  void rootWithoutCapSysAdminIsRefusedForRealAndNothingIsCreated() throws Exception {
    PrivateNamespace.require("serve refusals (drops CAP_SYS_ADMIN with setpriv)");
    Path view = tmp.resolve("view");
    try (FakeOrigin origin = new FakeOrigin()) {
      origin.file("/a.txt", "a", Instant.parse("2024-06-01T12:00:00Z"));
      Result r = ServeBed.run(60, "setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin",
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
          "dev.lazydir.cli.Main", "serve", origin.url("/").toString(), view.toString());
      assertEquals(1, r.exit(), r.err());
      assertTrue(r.err().contains("without CAP_SYS_ADMIN"), r.err());
      assertFalse(Files.exists(view), "DIR was not created");
      assertFalse(Files.exists(tmp.resolve(".view.lazydir")), "no store was made");
      assertEquals(0, origin.requestCount());
    }
  }
}
