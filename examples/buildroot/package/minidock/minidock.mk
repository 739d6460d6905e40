################################################################################
#
# minidock
#
################################################################################
#
# examples/buildroot is a BR2_EXTERNAL tree:
#   make BR2_EXTERNAL=/path/to/minidock/examples/buildroot menuconfig
# then "External options -> minidock". (Or copy package/minidock/ into
# Buildroot's package/ and set MINIDOCK_SITE to the checkout.)
#
# The build is minidock's own Makefile with DEPS=system: libarchive, zlib,
# zstd, libyaml (compose files) and BearSSL from Buildroot's staging, found through pkg-config
# (Buildroot's pkgconf wrapper points at the staging sysroot; BearSSL has no
# .pc, the Makefile then uses -lbearssl). A BR2_STATIC_LIBS build gives one
# static binary.

MINIDOCK_VERSION = 0.1.0
MINIDOCK_SITE = $(BR2_EXTERNAL_MINIDOCK_PATH)/../..
MINIDOCK_SITE_METHOD = local
MINIDOCK_LICENSE = MIT
MINIDOCK_LICENSE_FILES = LICENSE
MINIDOCK_DEPENDENCIES = host-pkgconf libarchive bearssl zlib zstd libyaml

MINIDOCK_FEATURES = $(if $(BR2_PACKAGE_MINIDOCK_TLS),,-tls) \
	$(if $(BR2_PACKAGE_MINIDOCK_API),+api,-api)

MINIDOCK_MAKE_OPTS = \
	$(TARGET_CONFIGURE_OPTS) \
	DEPS=system WERROR=0 \
	PKG_CONFIG="$(PKG_CONFIG_HOST_BINARY)" \
	FEATURES="$(MINIDOCK_FEATURES)" \
	LDFLAGS="$(TARGET_LDFLAGS) $(if $(BR2_STATIC_LIBS),-static)"

define MINIDOCK_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(MINIDOCK_MAKE_OPTS) minidock
endef

# The example compose app goes to /etc/minidock/hello/compose.yaml; the init
# script starts it when /etc/default/minidock says
# COMPOSE_FILES=/etc/minidock/hello/compose.yaml.
define MINIDOCK_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/minidock $(TARGET_DIR)/usr/bin/minidock
	$(INSTALL) -d -m 0700 $(TARGET_DIR)/var/lib/minidock
	$(INSTALL) -D -m 0644 $(@D)/examples/compose/compose.yaml $(TARGET_DIR)/etc/minidock/hello/compose.yaml
endef

# Images preloaded at build time: the build machine's minidock, the target's
# platform; no namespace is made and no target code runs.
MINIDOCK_HOST ?= minidock
MINIDOCK_PLATFORM = linux/$(call qstrip,$(if $(BR2_aarch64),arm64,$(if $(BR2_arm),arm/v7,$(if $(BR2_mipsel),mipsle,$(if $(BR2_x86_64),amd64,$(BR2_ARCH))))))
define MINIDOCK_PRELOAD_IMAGES
	$(foreach f,$(call qstrip,$(BR2_PACKAGE_MINIDOCK_PRELOAD)),
		$(MINIDOCK_HOST) --root $(TARGET_DIR)/var/lib/minidock --run-root $(@D)/preload-run \
			load -q --platform $(MINIDOCK_PLATFORM) -i $(f)
	)
endef
MINIDOCK_POST_INSTALL_TARGET_HOOKS += MINIDOCK_PRELOAD_IMAGES

define MINIDOCK_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/examples/sysvinit/minidock $(TARGET_DIR)/etc/init.d/S90minidock
endef

define MINIDOCK_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0755 $(@D)/examples/sysvinit/minidock \
		$(TARGET_DIR)/usr/libexec/minidock/minidock-init
	$(INSTALL) -D -m 0644 $(@D)/examples/systemd/minidock.service \
		$(TARGET_DIR)/usr/lib/systemd/system/minidock.service
endef

ifeq ($(BR2_PACKAGE_MINIDOCK_KERNEL_CONFIG),y)
define MINIDOCK_LINUX_CONFIG_FIXUPS
	$(call KCONFIG_ENABLE_OPT,CONFIG_NAMESPACES)
	$(call KCONFIG_ENABLE_OPT,CONFIG_UTS_NS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_IPC_NS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_PID_NS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NET_NS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_USER_NS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_CGROUPS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_MEMCG)
	$(call KCONFIG_ENABLE_OPT,CONFIG_CGROUP_PIDS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_CGROUP_SCHED)
	$(call KCONFIG_ENABLE_OPT,CONFIG_CFS_BANDWIDTH)
	$(call KCONFIG_ENABLE_OPT,CONFIG_CGROUP_FREEZER)
	$(call KCONFIG_ENABLE_OPT,CONFIG_CGROUP_DEVICE)
	$(call KCONFIG_ENABLE_OPT,CONFIG_CPUSETS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_CGROUP_BPF)
	$(call KCONFIG_ENABLE_OPT,CONFIG_BPF_SYSCALL)
	$(call KCONFIG_ENABLE_OPT,CONFIG_SECCOMP)
	$(call KCONFIG_ENABLE_OPT,CONFIG_SECCOMP_FILTER)
	$(call KCONFIG_ENABLE_OPT,CONFIG_OVERLAY_FS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_TMPFS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_TMPFS_XATTR)
	$(call KCONFIG_ENABLE_OPT,CONFIG_DEVPTS_MULTIPLE_INSTANCES)
	$(call KCONFIG_ENABLE_OPT,CONFIG_VETH)
	$(call KCONFIG_ENABLE_OPT,CONFIG_BRIDGE)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NETFILTER)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_CONNTRACK)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_NAT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_TABLES)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_TABLES_IPV4)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_NAT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_MASQ)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_CT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_FIB_IPV4)
endef
endif

$(eval $(generic-package))
