package store

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

func script(names ...string) *redis.Script {
	var src []byte
	for _, n := range names {
		b, err := luaFiles.ReadFile("lua/" + n)
		if err != nil {
			panic(err)
		}
		src = append(src, b...)
		src = append(src, '\n')
	}
	return redis.NewScript(string(src))
}

// The scripts; each file's header lists its KEYS, ARGV and reply.
var (
	createTenantScript   = script("create_tenant.lua")
	setEnabledScript     = script("events_lib.lua", "set_enabled.lua")
	setPolicyLimitScript = script("set_policy_limit.lua")
	addProductScript     = script("events_lib.lua", "add_product.lua")
	setQuantityScript    = script("events_lib.lua", "set_quantity.lua")
	createUserScript     = script("create_user.lua")
	assignLicenseScript  = script("events_lib.lua", "assign_license.lua")
	removeLicenseScript  = script("events_lib.lua", "remove_license.lua")
	createPolicyScript   = script("events_lib.lua", "policy_lib.lua", "create_policy.lua")
	updatePolicyScript   = script("events_lib.lua", "policy_lib.lua", "update_policy.lua")
	deletePolicyScript   = script("events_lib.lua", "delete_policy.lua")
	claimScript          = script("claim.lua")

	allScripts = []*redis.Script{
		createTenantScript, setEnabledScript, setPolicyLimitScript, addProductScript, setQuantityScript,
		createUserScript, assignLicenseScript, removeLicenseScript, createPolicyScript, updatePolicyScript,
		deletePolicyScript, claimScript,
	}
)
